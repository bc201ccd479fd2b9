package artifacts

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFetchGood(t *testing.T) {
	t.Parallel()
	body, sum := payload(3<<20 + 17) // crosses the 1 MiB buffer, ends mid-buffer
	srv, hits := counted(t, serve(body))
	dir := t.TempDir()
	var calls, lastDone, lastTotal atomic.Int64
	f := fast()
	f.Progress = func(name string, done, total int64) {
		calls.Add(1)
		lastDone.Store(done)
		lastTotal.Store(total)
	}
	start := time.Now()
	// An upper-case digest is accepted and normalised.
	res, err := f.Fetch(t.Context(), srv.URL+"/web-2.0", strings.ToUpper(sum), dir, "app.2.0", 0o750)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Path: filepath.Join(dir, "app.2.0"), SHA256: sum, Size: int64(len(body))}
	if res != want {
		t.Errorf("got %+v, want %+v", res, want)
	}
	assertFile(t, res.Path, body, 0o750)
	assertEntries(t, dir, "app.2.0")
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
	if lastDone.Load() != int64(len(body)) || lastTotal.Load() != int64(len(body)) {
		t.Errorf("last progress %d/%d, want %d/%d", lastDone.Load(), lastTotal.Load(), len(body), len(body))
	}
	if max := int64(elapsed/(100*time.Millisecond)) + 2; calls.Load() > max {
		t.Errorf("progress called %d times in %v, want at most %d", calls.Load(), elapsed, max)
	}
}

func TestFetchReusesExistingFile(t *testing.T) {
	t.Parallel()
	body, sum := payload(1000)
	srv, hits := counted(t, serve(body))
	dir := t.TempDir()
	f := fast()
	if _, err := f.Fetch(t.Context(), srv.URL+"/a", sum, dir, "app.1.0", 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := f.Fetch(t.Context(), srv.URL+"/a", sum, dir, "app.1.0", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reused || res.Size != 1000 || res.SHA256 != sum {
		t.Errorf("got %+v, want Reused with size 1000 and sha256 %s", res, sum)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1 (none for the reuse)", n)
	}
	assertEntries(t, dir, "app.1.0")
}

func TestFetchExistingDifferentIsImmutable(t *testing.T) {
	t.Parallel()
	body, sum := payload(1000)
	srv, hits := counted(t, serve(body))
	dir := t.TempDir()
	old := []byte("the bytes released before\n")
	if err := os.WriteFile(filepath.Join(dir, "app.2.0"), old, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := fast().Fetch(t.Context(), srv.URL+"/a", sum, dir, "app.2.0", 0o755)
	if !errors.Is(err, ErrImmutable) {
		t.Fatalf("got %v, want ErrImmutable", err)
	}
	for _, s := range []string{filepath.Join(dir, "app.2.0"), sum, digest(old)} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if IsTransient(err) {
		t.Errorf("IsTransient(%v) = true, want false", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
	assertFile(t, filepath.Join(dir, "app.2.0"), old, 0o700)
	assertEntries(t, dir, "app.2.0")
}

// A file that appears under the final name during the download is never
// replaced (RENAME_NOREPLACE); the same bytes are fine.
func TestFetchFileAppearsDuringDownload(t *testing.T) {
	t.Parallel()
	body, sum := payload(5000)
	other := []byte("someone else's release\n")
	for _, tc := range []struct {
		name    string
		appears []byte
		wantErr error
	}{
		{"same bytes", body, nil},
		{"other bytes", other, ErrImmutable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dest := filepath.Join(dir, "app.3.0")
			srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
				if err := os.WriteFile(dest, tc.appears, 0o644); err != nil {
					t.Error(err)
				}
				serve(body)(w, r)
			})
			_, err := fast().Fetch(t.Context(), srv.URL, sum, dir, "app.3.0", 0o755)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			assertFile(t, dest, tc.appears, 0o644)
			assertEntries(t, dir, "app.3.0")
		})
	}
}

func TestFetchRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	body, sum := payload(10000)
	for _, first := range []http.HandlerFunc{status(500), status(503), status(429), truncate(body)} {
		var n atomic.Int32
		srv, hits := counted(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				first(w, r)
				return
			}
			serve(body)(w, r)
		})
		dir := t.TempDir()
		res, err := fast().Fetch(t.Context(), srv.URL, sum, dir, "app.2.0", 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if hits.Load() != 2 || res.Reused {
			t.Errorf("server got %d requests, reused %v; want 2, false", hits.Load(), res.Reused)
		}
		assertFile(t, res.Path, body, 0o644)
		assertEntries(t, dir, "app.2.0")
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

// chunked sends body without a Content-Length.
func chunked(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Write(body[:10])
		w.(http.Flusher).Flush()
		w.Write(body[10:])
	}
}
