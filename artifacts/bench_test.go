package artifacts

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkFetch measures a download over loopback: hashing, writing,
// fsync and rename included.
func BenchmarkFetch(b *testing.B) {
	body, sum := payload(64 << 20)
	srv := httptest.NewServer(http.HandlerFunc(serve(body)))
	defer srv.Close()
	benchFetch(b, srv.URL, sum, len(body))
}

func BenchmarkFetchFile(b *testing.B) {
	body, sum := payload(64 << 20)
	src := filepath.Join(b.TempDir(), "src")
	if err := os.WriteFile(src, body, 0o644); err != nil {
		b.Fatal(err)
	}
	benchFetch(b, "file://"+src, sum, len(body))
}

func benchFetch(b *testing.B, url, sum string, size int) {
	dir := b.TempDir()
	f := &Fetcher{}
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := f.Fetch(b.Context(), url, sum, dir, "app", 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "app")); err != nil {
			b.Fatal(err)
		}
	}
}
