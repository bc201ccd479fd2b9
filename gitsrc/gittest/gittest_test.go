package gittest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestDeterministic: the same steps give the same commit hashes.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	var hashes [2]string
	for i := range hashes {
		r := gittest.NewRepo(t)
		r.WriteFile("a/b.txt", []byte("hello"))
		r.Symlink("a/b.txt", "link")
		hashes[i] = r.Commit("first")
	}
	if hashes[0] != hashes[1] || len(hashes[0]) != 40 {
		t.Fatalf("commit hashes %q and %q, want two equal full hashes", hashes[0], hashes[1])
	}
}

// TestServeHTTPCounts: the server answers git's ref advertisement and counts it.
func TestServeHTTPCounts(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	c := r.Commit("empty")
	srv := r.ServeHTTP(t, gittest.WithBasicAuth("u", "p"))
	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/info/refs?service=git-upload-pack", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Fatalf("without credentials: status %d, want 401", code)
	}
	code, body := get("u", "p")
	if code != http.StatusOK || !strings.Contains(body, c+" refs/heads/main") {
		t.Fatalf("status %d, body %q; want 200 advertising %s refs/heads/main", code, body, c)
	}
	if got := srv.Stats(); got.RefListings != 1 || got.Requests != 2 || got.UploadPacks != 0 || got.BytesOut < int64(len(body)) {
		t.Fatalf("Stats = %+v, want 1 ref listing in 2 requests (one refused), at least %d bytes out", got, len(body))
	}
}
