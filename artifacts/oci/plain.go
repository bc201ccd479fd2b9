package oci

import (
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

// plainPolicy says which registries may be reached over plain HTTP
// (loopback and insecure-named hosts) and remembers those that answered
// HTTPS in HTTP. As the transport under oras-go's client it refuses any
// other plain HTTP request (a token realm, a blob redirect).
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
	if req.URL.Scheme == "http" && !p.mayBePlain(req.URL.Host) {
		return nil, fmt.Errorf("%w: %s", ErrPlainHTTP, req.URL.Host)
	}
	return p.base.RoundTrip(req)
}

// speaksPlain reports whether host answered HTTPS in HTTP before.
func (p *plainPolicy) speaksPlain(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plain[host]
}

// fallBack reports whether a request to host that failed with err is to be
// made again over plain HTTP: the host may be plain and answered a TLS
// handshake in HTTP. It remembers the host.
func (p *plainPolicy) fallBack(host string, err error) bool {
	if !errors.Is(err, http.ErrSchemeMismatch) || !p.mayBePlain(host) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plain[host] = true
	return true
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
