package gitsrc_test

import (
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestFollowBranch polls a branch over each transport: a change is fetched
// and read, a poll without change transfers no objects.
func TestFollowBranch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		url   func(t *testing.T, r *gittest.Repo) (string, *gittest.HTTPServer)
		cache bool
	}{
		{"file URL", func(t *testing.T, r *gittest.Repo) (string, *gittest.HTTPServer) { return r.URL(), nil }, true},
		{"local path", func(t *testing.T, r *gittest.Repo) (string, *gittest.HTTPServer) { return r.Dir, nil }, true},
		{"smart HTTP", func(t *testing.T, r *gittest.Repo) (string, *gittest.HTTPServer) {
			srv := r.ServeHTTP(t)
			return srv.URL, srv
		}, true},
		{"smart HTTP in memory", func(t *testing.T, r *gittest.Repo) (string, *gittest.HTTPServer) {
			srv := r.ServeHTTP(t)
			return srv.URL, srv
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, c1 := seedRepo(t)
			url, srv := tc.url(t, r)
			opts := gitsrc.Options{URL: url}
			if tc.cache {
				opts.CacheDir = cacheDir(t)
			}
			s := newSource(t, opts)

			if got := head(t, s); got != c1 {
				t.Fatalf("Head = %s, want %s", got, c1)
			}
			if got := fetch(t, s, c1); got != c1 {
				t.Fatalf("Fetch = %s, want %s", got, c1)
			}
			if got, want := readFile(t, s, c1, "current.conf"), "version 1\n"; got != want {
				t.Fatalf("ReadFile = %q, want %q", got, want)
			}

			var before gittest.Stats
			if srv != nil {
				before = srv.Stats()
			}
			if got := fetch(t, s, c1); got != c1 {
				t.Fatalf("second Fetch = %s, want %s", got, c1)
			}
			if srv != nil {
				if after := srv.Stats(); after != before {
					t.Fatalf("Fetch of a cached commit made requests: stats %+v -> %+v, want none", before, after)
				}
			}

			r.WriteFile("current.conf", []byte("version 2\n"))
			c2 := r.Commit("version 2")
			if got := head(t, s); got != c2 {
				t.Fatalf("Head after commit = %s, want %s", got, c2)
			}
			if got := fetch(t, s, c2); got != c2 {
				t.Fatalf("Fetch after commit = %s, want %s", got, c2)
			}
			if got, want := readFile(t, s, c2, "current.conf"), "version 2\n"; got != want {
				t.Fatalf("ReadFile after commit = %q, want %q", got, want)
			}
			if srv != nil {
				if st := srv.Stats(); st.UploadPacks-before.UploadPacks != 1 {
					t.Fatalf("upload-packs for one change = %d, want 1", st.UploadPacks-before.UploadPacks)
				}
			}
		})
	}
}

// TestHeadNoObjects: a poll of an unchanged repo is one ref listing, in
// one request once the server's v2 capabilities are known.
func TestHeadNoObjects(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	srv := r.ServeHTTP(t)
	s := newSource(t, gitsrc.Options{URL: srv.URL, CacheDir: cacheDir(t)})
	for range 3 {
		if got := head(t, s); got != c1 {
			t.Fatalf("Head = %s, want %s", got, c1)
		}
	}
	if got := srv.Stats(); got.RefListings != 3 || got.Adverts != 1 || got.UploadPacks != 0 || got.Requests != 4 {
		t.Fatalf("stats after 3 Heads = %+v, want 3 ref listings, 1 advertisement, 0 upload-packs in 4 requests", got)
	}
}

// TestRelativePath: a relative local path is made absolute by New, so a
// later change of working directory does not matter.
func TestRelativePath(t *testing.T) {
	r, c1 := seedRepo(t)
	t.Chdir(r.Dir + "/..")
	s := newSource(t, gitsrc.Options{URL: "deploy"})
	t.Chdir(t.TempDir())
	if got := head(t, s); got != c1 {
		t.Fatalf("Head = %s, want %s", got, c1)
	}
	if got := fetch(t, s, ""); got != c1 {
		t.Fatalf("Fetch = %s, want %s", got, c1)
	}
}

// TestRefMovedSinceHead: Fetch returns the commit it got, not a stale want.
func TestRefMovedSinceHead(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: cacheDir(t)})
	if got := head(t, s); got != c1 {
		t.Fatalf("Head = %s, want %s", got, c1)
	}
	r.WriteFile("current.conf", []byte("version 2\n"))
	c2 := r.Commit("version 2")
	if got := fetch(t, s, c1); got != c2 {
		t.Fatalf("Fetch(%.12s) after the ref moved = %.12s, want %.12s", c1, got, c2)
	}
	if got, want := readFile(t, s, c2, "current.conf"), "version 2\n"; got != want {
		t.Fatalf("ReadFile = %q, want %q", got, want)
	}
}

// TestFetchWithoutHead: Fetch("") resolves the ref itself.
func TestFetchWithoutHead(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	r.Git("tag", "-a", "v1", "-m", "release 1")
	for _, ref := range []string{"", "main", "refs/heads/main", "v1", "refs/tags/v1"} {
		s := newSource(t, gitsrc.Options{URL: r.URL(), Ref: ref})
		if got := fetch(t, s, ""); got != c1 {
			t.Errorf("ref %q: Fetch(\"\") = %s, want %s", ref, got, c1)
		}
	}
}
