package oci

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
)

// ErrPlainHTTP: a plain HTTP request to a registry that is neither loopback
// nor named insecure.
var ErrPlainHTTP = errors.New("plain HTTP refused (only to loopback or a --registry-insecure host)")

// plainPolicy is the transport under oras-go's client: it lets plain HTTP
// reach loopback and insecure-named hosts only, and switches such a host
// to HTTP when it answers a TLS handshake in HTTP (remembered per host).
type plainPolicy struct {
	base     http.RoundTripper
	insecure []string
	mu       sync.Mutex
	plain    map[string]bool // host:port known to speak HTTP only
}

func newPlainPolicy(base http.RoundTripper, insecure []string) *plainPolicy {
	return &plainPolicy{base: base, insecure: insecure, plain: map[string]bool{}}
}

func (p *plainPolicy) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	if req.URL.Scheme == "http" && !p.mayBePlain(host) {
		return nil, fmt.Errorf("%w: %s", ErrPlainHTTP, host)
	}
	if req.URL.Scheme == "https" && p.isPlain(host) {
		return p.base.RoundTrip(asPlain(req))
	}
	resp, err := p.base.RoundTrip(req)
	var rh tls.RecordHeaderError
	if err != nil && req.URL.Scheme == "https" && errors.As(err, &rh) &&
		string(rh.RecordHeader[:]) == "HTTP/" && p.mayBePlain(host) {
		p.mu.Lock()
		p.plain[host] = true
		p.mu.Unlock()
		if req.GetBody != nil || req.Body == nil || req.Body == http.NoBody {
			return p.base.RoundTrip(asPlain(req))
		}
	}
	return resp, err
}

func (p *plainPolicy) isPlain(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plain[host]
}

// mayBePlain: loopback, or named in the insecure list (host or host:port).
func (p *plainPolicy) mayBePlain(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	return slices.Contains(p.insecure, hostport) || slices.Contains(p.insecure, h)
}

// asPlain is req over HTTP.
func asPlain(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	r.URL.Scheme = "http"
	if req.GetBody != nil {
		r.Body, _ = req.GetBody()
	}
	return r
}
