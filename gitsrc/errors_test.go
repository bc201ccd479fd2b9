package gitsrc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// TestRemoteErrors: each failure of the remote is sorted into its sentinel,
// names what was done and where, and comes back fast.
func TestRemoteErrors(t *testing.T) {
	t.Parallel()
	r, _ := seedRepo(t)
	srv := r.ServeHTTP(t)
	for _, tc := range []struct {
		name    string
		url     string
		ref     string
		timeout time.Duration
		want    []error
	}{
		{"missing ref", r.URL(), "nope", 0, []error{gitsrc.ErrRefNotFound}},
		{"missing tag", srv.URL, "refs/tags/nope", 0, []error{gitsrc.ErrRefNotFound}},
		{"connection refused", gittest.RefusedURL(t), "", 0, []error{gitsrc.ErrUnreachable}},
		{"missing repo over file", r.URL() + "-nope", "", 0, []error{gitsrc.ErrRepoNotFound}},
		{"missing repo path", filepath.Join(t.TempDir(), "nope"), "", 0, []error{gitsrc.ErrRepoNotFound}},
		{"missing repo over HTTP", srv.URL + "-nope", "", 0, []error{gitsrc.ErrRepoNotFound}},
		{"silent server", gittest.SilentServer(t), "", 300 * time.Millisecond,
			[]error{gitsrc.ErrUnreachable, context.DeadlineExceeded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSource(t, gitsrc.Options{URL: tc.url, Ref: tc.ref, Timeout: tc.timeout, CacheDir: cacheDir(t)})
			calls := map[string]func(ctx context.Context) error{
				"Head":     func(ctx context.Context) error { _, err := s.Head(ctx); return err },
				"Fetch":    func(ctx context.Context) error { _, err := s.Fetch(ctx, ""); return err },
				"Fetch(h)": func(ctx context.Context) error { _, err := s.Fetch(ctx, strings.Repeat("ab", 20)); return err },
			}
			for name, call := range calls {
				within(t, 3*time.Second, func(ctx context.Context) {
					err := call(ctx)
					t.Logf("%s: %v", name, err)
					for _, want := range tc.want {
						if !errors.Is(err, want) {
							t.Errorf("%s: error %v, want errors.Is %v", name, err, want)
						}
					}
					if err != nil && !strings.Contains(err.Error(), redact.URL(tc.url)) {
						t.Errorf("%s: error %q does not name the URL %s", name, err, tc.url)
					}
				})
			}
		})
	}
}

// TestRefDeletedAfterHead: the branch Head resolved is gone at Fetch time.
func TestRefDeletedAfterHead(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	r.Git("branch", "release")
	s := newSource(t, gitsrc.Options{URL: r.URL(), Ref: "release", CacheDir: cacheDir(t)})
	if got := head(t, s); got != c1 {
		t.Fatalf("Head = %.12s, want %.12s", got, c1)
	}
	r.Git("branch", "-D", "release")
	_, err := s.Fetch(t.Context(), c1)
	if !errors.Is(err, gitsrc.ErrRefNotFound) || !strings.Contains(err.Error(), "release") {
		t.Fatalf("Fetch after the branch was deleted: %v, want ErrRefNotFound naming the ref", err)
	}
}

// TestCallerCancel: a cancelled caller gets context.Canceled, not a blame
// of the remote.
func TestCallerCancel(t *testing.T) {
	t.Parallel()
	s := newSource(t, gitsrc.Options{URL: gittest.SilentServer(t)})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	within(t, 3*time.Second, func(context.Context) {
		_, err := s.Head(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, gitsrc.ErrUnreachable) {
			t.Errorf("Head with a cancelled context: %v, want context.Canceled and not ErrUnreachable", err)
		}
	})
}

// TestAuth: missing or wrong credentials give ErrAuth and never show the
// password; right ones work, from the URL or Options.Auth, and the cache on
// disk does not keep them.
func TestAuth(t *testing.T) {
	t.Parallel()
	const user, pass = "deployer", "hunter2-s3cret"
	r, c1 := seedRepo(t)
	srv := r.ServeHTTP(t, gittest.WithBasicAuth(user, pass))
	withCreds := func(u, p string) string {
		return strings.Replace(srv.URL, "http://", "http://"+u+":"+p+"@", 1)
	}

	for _, tc := range []struct {
		name string
		url  string
		auth *githttp.BasicAuth
	}{
		{"none", srv.URL, nil},
		{"wrong password in URL", withCreds(user, "wrong-passw0rd"), nil},
		{"wrong password in Auth", srv.URL, &githttp.BasicAuth{Username: user, Password: "wrong-passw0rd"}},
	} {
		opts := gitsrc.Options{URL: tc.url, CacheDir: cacheDir(t)}
		if tc.auth != nil {
			opts.Auth = tc.auth
		}
		s := newSource(t, opts)
		_, herr := s.Head(t.Context())
		_, ferr := s.Fetch(t.Context(), "")
		for _, err := range []error{herr, ferr} {
			if !errors.Is(err, gitsrc.ErrAuth) {
				t.Errorf("%s: error %v, want ErrAuth", tc.name, err)
			}
			if err != nil && strings.Contains(err.Error(), "passw0rd") {
				t.Errorf("%s: error %q shows the password", tc.name, err)
			}
		}
	}

	for name, opts := range map[string]gitsrc.Options{
		"URL":  {URL: withCreds(user, pass), CacheDir: cacheDir(t)},
		"Auth": {URL: srv.URL, Auth: &githttp.BasicAuth{Username: user, Password: pass}, CacheDir: cacheDir(t)},
	} {
		s := newSource(t, opts)
		if got := fetch(t, s, head(t, s)); got != c1 {
			t.Fatalf("credentials in %s: Fetch = %.12s, want %.12s", name, got, c1)
		}
		if got := readFile(t, s, c1, "current.conf"); got != "version 1\n" {
			t.Fatalf("credentials in %s: ReadFile = %q", name, got)
		}
		cfg, err := os.ReadFile(filepath.Join(opts.CacheDir, "config"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cfg), pass) {
			t.Errorf("credentials in %s: the cache's config keeps the password:\n%s", name, cfg)
		}
	}
}

// TestEmptyRepo: a repository without commits has no ref to follow.
func TestEmptyRepo(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	for _, url := range []string{r.URL(), r.ServeHTTP(t).URL} {
		s := newSource(t, gitsrc.Options{URL: url})
		_, err := s.Head(t.Context())
		if !errors.Is(err, gitsrc.ErrRefNotFound) || !strings.Contains(err.Error(), "main") {
			t.Errorf("%s: Head of an empty repo: %v, want ErrRefNotFound naming the ref", url, err)
		}
		if _, err := s.Fetch(t.Context(), ""); !errors.Is(err, gitsrc.ErrRefNotFound) {
			t.Errorf("%s: Fetch of an empty repo: %v, want ErrRefNotFound", url, err)
		}
	}
}
