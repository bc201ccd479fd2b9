package artifacts

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/reconciler-dev/reconciler/internal/httpclient"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// Doer is the one-method HTTP seam (an *http.Client satisfies it).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// NewClient returns the client Fetch uses when Fetcher.Client is nil, with
// tlsConf for extra CAs (nil: system roots). Every network step before the
// body has a timeout; there is no overall timeout, since artifacts can be
// big (Fetcher.StallTimeout and the caller's ctx bound the body). Redirects
// from https to http are refused.
func NewClient(tlsConf *tls.Config) *http.Client {
	tr := httpclient.Transport(tlsConf, 10*time.Second)
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.ExpectContinueTimeout = time.Second
	tr.MaxIdleConns = 10
	return &http.Client{Transport: tr, CheckRedirect: RefuseDowngrade}
}

// RefuseDowngrade is an http.Client CheckRedirect that refuses a redirect
// from https to any other scheme (the digest would still catch a changed
// body, but credentials and the request itself would travel in clear) and
// stops after 10 redirects, like the default. Set it on a custom Client.
func RefuseDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme == "https" {
		return nil
	}
	for _, prev := range via {
		if prev.URL.Scheme == "https" {
			to := redact.URL(req.URL.String())
			return fmt.Errorf("%w: to %s", ErrInsecureRedirect, to)
		}
	}
	return nil
}
