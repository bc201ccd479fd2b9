package gitsrc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// errorPage is what web servers and proxies answer with: a whole HTML page.
const errorPage = `<!DOCTYPE html>
<html><head><title>Error</title><style>body { font-family: sans-serif; }</style></head>
<body><h1>Something went wrong</h1><p>PAGE-BODY-MARKER: a long explanation nobody reads.</p></body>
</html>
`

// TestHTTPErrorStatus: an HTTP error answer is named by its status, not by
// the page that came with it; a line of plain text is kept, without
// credentials.
func TestHTTPErrorStatus(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-t0ken-value"
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name        string
		code        int
		contentType string
		body        string
		want        error
		wantDetail  string // after "list refs of URL: "
	}{
		{"404 page", 404, "text/html", errorPage, gitsrc.ErrRepoNotFound, "repository not found: HTTP 404 Not Found"},
		{"401 page", 401, "text/html", errorPage, gitsrc.ErrAuth, "authentication failed: HTTP 401 Unauthorized"},
		{"403 page", 403, "text/html", errorPage, gitsrc.ErrAuth, "authentication failed: HTTP 403 Forbidden"},
		{"502 page", 502, "text/html", errorPage, gitsrc.ErrUnreachable, "deploy repo unreachable: HTTP 502 Bad Gateway"},
		{"410 page", 410, "text/html", errorPage, nil, "HTTP 410 Gone"},
		{"404 text", 404, "text/plain", "Repository not found.\nSee the docs.\n", gitsrc.ErrRepoNotFound,
			"repository not found: HTTP 404 Not Found: Repository not found."},
		{"403 long text", 403, "text/plain", long, gitsrc.ErrAuth, "authentication failed: HTTP 403 Forbidden: " + long[:200] + "..."},
		{"403 text naming the token", 403, "text/plain", "token " + secret + " is expired", gitsrc.ErrAuth,
			"authentication failed: HTTP 403 Forbidden: token xxxxx is expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.code)
				w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			url := "http://" + secret + "@" + srv.Listener.Addr().String() + "/x.git"
			s := newSource(t, gitsrc.Options{URL: url, CacheDir: cacheDir(t)})
			calls := map[string]func(ctx context.Context) error{
				"Head":  func(ctx context.Context) error { _, err := s.Head(ctx); return err },
				"Fetch": func(ctx context.Context) error { _, err := s.Fetch(ctx, ""); return err },
			}
			for name, call := range calls {
				err := call(t.Context())
				want := "list refs of " + redact.URL(url) + ": " + tc.wantDetail
				if err == nil || err.Error() != want {
					t.Errorf("%s: got %v, want %s", name, err, want)
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("%s: got %v, want errors.Is %v", name, err, tc.want)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("%s: error %q shows the token", name, err)
				}
			}
		})
	}
}
