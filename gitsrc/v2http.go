package gitsrc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// httpV2 lists refs over git smart HTTP in protocol v2, with what go-git
// v5's HTTP transport would send: the same credentials (the Auth, else the
// URL's user and password), the system CA roots plus Options.CABundle, the
// proxy from the environment, and go-git's User-Agent.
//
// A no-change poll is one request: the server's v2 capabilities are
// remembered from the first contact, so the ls-refs command is POSTed
// alone (git http-backend, GitHub and GitLab run each POST statelessly).
// On any doubt about that answer the full exchange follows at once: the
// GET of info/refs with "Git-Protocol: version=2", then the POST. A server
// that does not speak v2 answers the GET with the v0 advertisement, which
// is the listing (today's cost, one request).
type httpV2 struct {
	base   string // the repo URL without credentials, query or trailing slash
	auth   githttp.AuthMethod
	client *http.Client
	caps   caps // the server's capabilities; nil until learned, or after a doubt
}

// newHTTPV2 returns the v2 client for an http(s) Source, or nil when the
// Source is not over HTTP or has something only go-git's transport
// handles (a query string, an Auth that is not HTTP's).
func newHTTPV2(rawURL string, auth any, caBundle []byte) (*httpV2, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, nil
	}
	h := &httpV2{}
	switch a := auth.(type) {
	case nil:
		if u.User != nil && u.User.Username() != "" { // as go-git: a user name is needed
			pass, _ := u.User.Password()
			h.auth = &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
		}
	case githttp.AuthMethod:
		h.auth = a
	default:
		return nil, nil // go-git refuses it with its own error
	}
	u.User = nil
	h.base = strings.TrimSuffix(u.String(), "/")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(caBundle) > 0 {
		roots, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("read system CA certificates: %w", err)
		}
		roots.AppendCertsFromPEM(caBundle)
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	h.client = &http.Client{
		Transport: tr,
		// A redirect is left to go-git's transport, which decides which
		// ones credentials may follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h, nil
}

// errDoubt: an answer this client does not take as it stands (a redirect,
// an unknown content type, a body that does not parse); the caller lists
// the refs with go-git instead, which reports or handles it as before.
var errDoubt = errors.New("answer not understood")

// listRefs returns the refs under prefixes, as name -> hash with peeled
// tags under "name^{}"; partial is false when a v0 server's answer holds
// all its refs.
func (h *httpV2) listRefs(ctx context.Context, prefixes []string) (refs map[string]plumbing.Hash, partial bool, err error) {
	if h.caps != nil {
		if refs, err = h.lsRefs(ctx, prefixes); err == nil {
			return refs, true, nil
		}
		h.caps = nil
		if ctx.Err() != nil {
			return nil, false, err
		}
		// Any other failure of the lone POST, even of the connection (a
		// kept-alive one the server closed while idle: net/http does not
		// resend a POST), is a doubt: the full exchange follows.
	}
	adv, err := h.advertise(ctx)
	switch {
	case err != nil:
		return nil, false, err
	case adv.v2 == nil:
		return adv.v0, false, nil
	}
	h.caps = adv.v2
	if refs, err = h.lsRefs(ctx, prefixes); err != nil {
		h.caps = nil
		return nil, false, err
	}
	return refs, true, nil
}

// advertise GETs info/refs asking for protocol v2.
func (h *httpV2) advertise(ctx context.Context) (*advertisement, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/info/refs?service=git-upload-pack", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	body, err := h.do(req, "application/x-git-upload-pack-advertisement")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	adv, err := readAdvertisement(body)
	switch {
	case errors.Is(err, errEmptyRepo), errors.Is(err, errTooLarge):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errDoubt, err)
	}
	return adv, nil
}

// lsRefs POSTs the ls-refs command.
func (h *httpV2) lsRefs(ctx context.Context, prefixes []string) (map[string]plumbing.Hash, error) {
	body, err := h.post(ctx, lsRefsRequest(h.caps, prefixes))
	if err != nil {
		return nil, err
	}
	defer body.Close()
	refs, err := readLsRefs(body)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, err // not a doubt: go-git's listing would read it all
	case err != nil:
		return nil, fmt.Errorf("%w: %w: %w", errDoubt, errNotV2, err)
	}
	return refs, nil
}

// post POSTs a v2 command to git-upload-pack and returns the answer's body.
func (h *httpV2) post(ctx context.Context, command []byte) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/git-upload-pack", bytes.NewReader(command))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Accept", "application/x-git-upload-pack-result")
	return h.do(req, "application/x-git-upload-pack-result")
}

// httpConn is a v2conn over HTTP: each command one POST.
type httpConn struct {
	h    *httpV2
	body io.ReadCloser // of the last command
}

func (c *httpConn) lsRefs(ctx context.Context, prefixes []string) (map[string]plumbing.Hash, error) {
	refs, partial, err := c.h.listRefs(ctx, prefixes)
	if err == nil && !partial {
		return nil, errV0
	}
	return refs, err
}

func (c *httpConn) command(ctx context.Context, req []byte) (io.Reader, error) {
	c.close()
	body, err := c.h.post(ctx, req)
	if err != nil {
		return nil, err
	}
	c.body = body
	return body, nil
}

func (c *httpConn) serverCaps() caps { return c.h.caps }

func (c *httpConn) close() {
	if c.body != nil {
		c.body.Close()
		c.body = nil
	}
}

// maxErrorBody bounds what is read of an HTTP error answer's body; the
// error keeps at most its first line of plain text (plainReason).
const maxErrorBody = 4 << 10

// do sends req with the credentials and v2 header and returns the body of
// a 200 answer of content type want. A 4xx/5xx answer becomes go-git's own
// error for it (githttp.NewErr), so it is reported as before.
func (h *httpV2) do(req *http.Request, want string) (io.ReadCloser, error) {
	req.Header.Set("User-Agent", capability.DefaultAgent())
	req.Header.Set("Git-Protocol", "version=2")
	if h.auth != nil {
		h.auth.SetAuth(req)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 400 {
		// NewErr reads the whole body into the error: a server (or a proxy
		// in front of it) could send one without end. Only its first
		// maxErrorBody bytes are read; closing drops the rest.
		res.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(res.Body, maxErrorBody), res.Body}
		return nil, githttp.NewErr(res) // reads and closes the body
	}
	got, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode != http.StatusOK || got != want {
		res.Body.Close()
		return nil, fmt.Errorf("%w: HTTP %d, content type %q", errDoubt, res.StatusCode, got)
	}
	return res.Body, nil
}
