package artifacts

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// tlsClient is NewClient trusting srv's certificate: our CheckRedirect and
// timeouts, the test server's roots.
func tlsClient(srv *httptest.Server) *http.Client {
	return NewClient(srv.Client().Transport.(*http.Transport).TLSClientConfig)
}

func TestFetchRefusesHTTPSToHTTPRedirect(t *testing.T) {
	t.Parallel()
	body, sum := payload(1000)
	plain, plainHits := counted(t, serve(body))
	var tlsHits atomic.Int32
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsHits.Add(1)
		http.Redirect(w, r, plain.URL+"/web-2.0?sig=abcdefgh12345", http.StatusFound)
	}))
	t.Cleanup(secure.Close)
	dir := t.TempDir()
	f := fast()
	f.Client = tlsClient(secure)
	_, err := f.Fetch(t.Context(), secure.URL+"/web-2.0", sum, dir, "app.2.0", 0o755)
	if !errors.Is(err, ErrInsecureRedirect) || IsTransient(err) {
		t.Fatalf("got %v, want ErrInsecureRedirect, not transient", err)
	}
	if !strings.Contains(err.Error(), plain.URL+"/web-2.0") || strings.Contains(err.Error(), "abcdefgh12345") {
		t.Errorf("error %q should name the redirect target without its query value", err)
	}
	if plainHits.Load() != 0 || tlsHits.Load() != 1 {
		t.Errorf("http server got %d requests, https %d; want 0 and 1", plainHits.Load(), tlsHits.Load())
	}
	assertEntries(t, dir)
}

// The control: the same client follows an https-to-https redirect, so the
// refusal above is not a TLS failure in disguise.
func TestFetchFollowsHTTPSToHTTPSRedirect(t *testing.T) {
	t.Parallel()
	body, sum := payload(1000)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		serve(body)(w, r)
	}))
	t.Cleanup(secure.Close)
	dir := t.TempDir()
	f := fast()
	f.Client = tlsClient(secure)
	res, err := f.Fetch(t.Context(), secure.URL+"/old", sum, dir, "app.2.0", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, res.Path, body, 0o755)
}

func TestRefuseDowngrade(t *testing.T) {
	t.Parallel()
	if NewClient(nil).CheckRedirect == nil {
		t.Fatal("NewClient has no CheckRedirect")
	}
	req := func(s string) *http.Request {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	tests := []struct {
		to   string
		via  []string
		want error
	}{
		{"https://b/x", []string{"https://a/x"}, nil},
		{"http://b/x", []string{"http://a/x"}, nil},
		{"https://b/x", []string{"http://a/x"}, nil},
		{"http://b/x", []string{"https://a/x"}, ErrInsecureRedirect},
		{"http://c/x", []string{"http://a/x", "https://b/x"}, ErrInsecureRedirect},
	}
	for _, tc := range tests {
		var via []*http.Request
		for _, v := range tc.via {
			via = append(via, req(v))
		}
		if err := NewClient(nil).CheckRedirect(req(tc.to), via); !errors.Is(err, tc.want) {
			t.Errorf("redirect %v -> %s: got %v, want %v", tc.via, tc.to, err, tc.want)
		}
	}
	var ten []*http.Request
	for range 10 {
		ten = append(ten, req("https://a/x"))
	}
	if err := RefuseDowngrade(req("https://a/x"), ten); err == nil {
		t.Error("11th redirect accepted, want an error")
	}
}
