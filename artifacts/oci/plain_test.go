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

// TestHTTPSFallsBackToPlainOnLoopback: a loopback registry that answers
// a TLS handshake in HTTP is asked again over HTTP, and remembered.
func TestHTTPSFallsBackToPlainOnLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := newPlainPolicy(http.DefaultTransport, nil)
	host := srv.Listener.Addr().String()
	for i := range 2 {
		req := httptest.NewRequest(http.MethodGet, "https://"+host+"/v2/", nil)
		req.RequestURI = ""
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.Request.URL.Scheme != "http" {
			t.Fatalf("request %d went over %s, want http", i, resp.Request.URL.Scheme)
		}
	}
	if !p.isPlain(host) {
		t.Fatal("the host is not remembered as plain")
	}
}
