package artifacts

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFetchFileScheme(t *testing.T) {
	t.Parallel()
	body, sum := payload(2<<20 + 5)
	src := filepath.Join(t.TempDir(), "web-2.0")
	if err := os.WriteFile(src, body, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("good", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		res, err := fast().Fetch(t.Context(), "file://"+src, sum, dir, "app.2.0", 0o755)
		if err != nil {
			t.Fatal(err)
		}
		assertFile(t, res.Path, body, 0o755)
		assertEntries(t, dir, "app.2.0")
	})
	for _, tc := range []struct {
		name, url string
		maxSize   int64
		want      error
	}{
		{"missing", "file://" + src + ".missing", 0, os.ErrNotExist},
		{"too large", "file://" + src, 1 << 20, ErrTooLarge},
		{"mismatch", "file://" + src, 0, nil},
		{"host", "file://otherhost" + src, 0, ErrUnsupportedScheme},
		{"directory", "file://" + filepath.Dir(src), 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := sum
			if tc.name == "mismatch" {
				want = strings.Repeat("ab", 32)
				tc.want = ErrDigestMismatch
			}
			f := fast()
			f.MaxSize = tc.maxSize
			_, err := f.Fetch(t.Context(), tc.url, want, dir, "app.2.0", 0o755)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if IsTransient(err) {
				t.Errorf("IsTransient(%v) = true, want false", err)
			}
			assertEntries(t, dir)
		})
	}
}

func TestFetchBadInputFailsBeforeNetwork(t *testing.T) {
	t.Parallel()
	srv, hits := counted(t, http.NotFound)
	_, sum := payload(1)
	for _, tc := range []struct {
		name, url, want, file string
		wantErr               error
		says                  string
	}{
		{"ftp", "ftp://example.com/web-2.0", sum, "app", ErrUnsupportedScheme, `unsupported URL scheme "ftp"`},
		{"no scheme", "example.com/web-2.0", sum, "app", ErrUnsupportedScheme, "example.com/web-2.0"},
		{"short digest", srv.URL, sum[:63], "app", nil, "want 64 hex digits"},
		{"non-hex digest", srv.URL, "zz" + sum[2:], "app", nil, "want 64 hex digits"},
		{"empty digest", srv.URL, "", "app", nil, "want 64 hex digits"},
		{"name with slash", srv.URL, sum, "../app", nil, "invalid file name"},
		{"temp-looking name", srv.URL, sum, ".app.tmp-1", nil, "invalid file name"},
		{"bad URL", "http://h/%zz", sum, "app", nil, "invalid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := fast().Fetch(t.Context(), tc.url, tc.want, dir, tc.file, 0o755)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if IsTransient(err) {
				t.Errorf("IsTransient(%v) = true, want false", err)
			}
			assertEntries(t, dir)
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}

func TestFetchCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	srv, hits := counted(t, http.NotFound)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, sum := payload(1)
	_, err := fast().Fetch(ctx, srv.URL, sum, t.TempDir(), "app", 0o755)
	if !errors.Is(err, context.Canceled) || hits.Load() != 0 {
		t.Fatalf("got %v with %d requests, want context.Canceled and none", err, hits.Load())
	}
}
