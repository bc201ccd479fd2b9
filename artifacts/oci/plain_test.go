package oci

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

type recorder struct{ got []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req.URL.String())
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

// TestPlainHTTPOnlyToLoopbackOrInsecure: a plain HTTP request reaches the
// wire only for loopback hosts and the hosts named insecure.
func TestPlainHTTPOnlyToLoopbackOrInsecure(t *testing.T) {
	for _, tc := range []struct {
		url  string
		sent bool
	}{
		{"http://127.0.0.1:5000/v2/", true},
		{"http://[::1]:5000/v2/", true},
		{"http://localhost:5000/v2/", true},
		{"http://registry.lan:5000/v2/", true}, // named host:port
		{"http://cache.lan/v2/", true},         // named host, any port
		{"http://registry.lan:6000/v2/", false},
		{"http://registry.example.com/v2/", false},
		{"http://10.0.0.1:5000/v2/", false},
		{"https://registry.example.com/v2/", true},
	} {
		rec := &recorder{}
		p := newPlainPolicy(rec, []string{"registry.lan:5000", "cache.lan"})
		req := httptest.NewRequest(http.MethodGet, tc.url, nil)
		_, err := p.RoundTrip(req)
		if sent := len(rec.got) == 1; sent != tc.sent {
			t.Errorf("%s: sent %v (err %v), want %v", tc.url, sent, err, tc.sent)
		}
		if !tc.sent && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("%s: got %v, want ErrPlainHTTP", tc.url, err)
		}
	}
}

// TestFallBackOnlyWhenHTTPAnswersHTTPS: a host that answered a TLS
// handshake in HTTP is asked again in plain HTTP only when it may be, and
// remembered; any other error is no reason to.
func TestFallBackOnlyWhenHTTPAnswersHTTPS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := newPlainPolicy(http.DefaultTransport, nil)
	host := srv.Listener.Addr().String()
	_, err := (&http.Client{Transport: p}).Get("https://" + host + "/v2/")
	if !p.fallBack(host, err) || !p.speaksPlain(host) {
		t.Fatalf("a loopback host answering HTTPS in HTTP (%v): no fall back, want one, remembered", err)
	}
	if p.fallBack("registry.example.com:443", err) {
		t.Error("a fall back to plain HTTP for a host that is neither loopback nor insecure")
	}
	if p.fallBack("127.0.0.2:1", errors.New("connection refused")) {
		t.Error("a fall back to plain HTTP on another error")
	}
}
