package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestSum: a body's digest and size, over HTTP and file://; a 404, a
// truncated body, and one past MaxSize (announced or not) are errors
// naming the URL without its secrets.
func TestSum(t *testing.T) {
	body, want := payload(3<<20 + 17)
	ok, _ := counted(t, serve(body))
	notFound, _ := counted(t, http.NotFound)
	short, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:1000])
	})
	chunked, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			w.Write(body[:1<<20])
			w.(http.Flusher).Flush()
		}
	})
	file := filepath.Join(t.TempDir(), "web")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	f := fast()
	for _, u := range []string{ok.URL + "/web?token=s3cret", "file://" + file} {
		sum, n, err := f.Sum(t.Context(), u)
		if err != nil || sum != want || n != int64(len(body)) {
			t.Errorf("Sum(%s): got %s, %d, %v; want %s, %d", u, sum, n, err, want, len(body))
		}
	}
	small := &Fetcher{Attempts: 1, MaxSize: 2 << 20}
	for _, tc := range []struct {
		name, url string
		f         *Fetcher
		is        error
		code      int
	}{
		{"404", notFound.URL + "/web?token=s3cret", f, nil, 404},
		{"truncated", short.URL + "/web", &Fetcher{Attempts: 1}, ErrTruncated, 0},
		{"announced too large", ok.URL + "/web", small, ErrTooLarge, 0},
		{"streamed too large", chunked.URL + "/web", small, ErrTooLarge, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.f.Sum(t.Context(), tc.url)
			var se *StatusError
			switch {
			case err == nil:
				t.Fatal("got no error")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("got %v, want %v", err, tc.is)
			case tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code):
				t.Errorf("got %v, want status %d", err, tc.code)
			case strings.Contains(err.Error(), "s3cret"):
				t.Errorf("error shows the secret: %v", err)
			case !strings.Contains(err.Error(), "/web"):
				t.Errorf("error does not name the URL: %v", err)
			}
		})
	}
}

// TestSumStreams: a 64 MiB body is hashed without being held: the whole
// process allocates far less than the body while Sum runs.
func TestSumStreams(t *testing.T) {
	chunk := make([]byte, 64<<10)
	const chunks = 1024 // 64 MiB
	h := sha256.New()
	for range chunks {
		h.Write(chunk)
	}
	want := hex.EncodeToString(h.Sum(nil))
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		for range chunks {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sum, n, err := fast().Sum(t.Context(), srv.URL)
	runtime.ReadMemStats(&after)
	if err != nil || sum != want || n != chunks*int64(len(chunk)) {
		t.Fatalf("Sum: got %s, %d, %v; want %s", sum, n, err, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
		t.Errorf("Sum of a 64 MiB body allocated %d MiB, want a constant buffer (under 24 MiB)", alloc>>20)
	}
}
