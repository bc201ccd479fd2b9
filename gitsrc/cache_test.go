package gitsrc_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// TestPackCountBounded: go-git adds a pack per fetch and never repacks; the
// cache is cloned afresh before packs pile up.
func TestPackCountBounded(t *testing.T) {
	t.Parallel()
	r, _ := seedRepo(t)
	dir := cacheDir(t)
	s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: dir})
	maxPacks, recloned := 0, false
	for i := range 30 {
		content := strings.Repeat("x", i)
		r.WriteFile("current.conf", []byte(content))
		c := r.Commit("change")
		if got := fetch(t, s, head(t, s)); got != c {
			t.Fatalf("fetch %d = %.12s, want %.12s", i, got, c)
		}
		if got := readFile(t, s, c, "current.conf"); got != content {
			t.Fatalf("fetch %d: ReadFile = %q, want %q", i, got, content)
		}
		n := packCount(t, dir)
		recloned = recloned || n < maxPacks
		maxPacks = max(maxPacks, n)
	}
	if maxPacks > 21 || !recloned {
		t.Fatalf("after 30 fetches: at most %d packs, recloned %v; want at most 21 and a re-clone", maxPacks, recloned)
	}
}

// TestCacheRepaired: a damaged, foreign or interrupted cache is replaced by
// a fresh clone; the next Fetch answers right.
func TestCacheRepaired(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"packs deleted", func(t *testing.T, dir string) {
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*"))
			for _, p := range packs {
				must(t, os.Remove(p))
			}
		}},
		{"packs truncated", func(t *testing.T, dir string) {
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
			for _, p := range packs {
				must(t, os.Truncate(p, 40))
			}
		}},
		{"ref moved to a missing commit", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "refs", "heads", "main"), []byte(strings.Repeat("ab", 20)+"\n"), 0o644))
		}},
		{"config garbage", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "config"), []byte("[[[ not git"), 0o644))
		}},
		{"another repo's cache", func(t *testing.T, dir string) {
			other, _ := seedRepo(t)
			must(t, os.RemoveAll(dir))
			s := newSource(t, gitsrc.Options{URL: other.URL(), CacheDir: dir})
			fetch(t, s, "")
		}},
		{"interrupted clone left behind", func(t *testing.T, dir string) {
			must(t, os.RemoveAll(dir))
			must(t, os.MkdirAll(dir+".new/objects", 0o755))
			must(t, os.MkdirAll(dir+".old/objects", 0o755))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _ := seedRepo(t)
			r.WriteFile("current.conf", []byte("version 2\n"))
			c2 := r.Commit("version 2")
			dir := cacheDir(t)
			fetch(t, newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: dir}), c2)

			tc.damage(t, dir)
			s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: dir})
			if got := fetch(t, s, c2); got != c2 {
				t.Fatalf("Fetch = %.12s, want %.12s", got, c2)
			}
			if got := readFile(t, s, c2, "current.conf"); got != "version 2\n" {
				t.Fatalf("ReadFile = %q, want %q", got, "version 2\n")
			}
			for _, litter := range []string{dir + ".new", dir + ".old"} {
				if fileExists(litter) {
					t.Errorf("%s left behind", litter)
				}
			}
		})
	}
}

// TestCacheDirNotGit: a CacheDir that holds other files is never deleted.
func TestCacheDirNotGit(t *testing.T) {
	t.Parallel()
	r, _ := seedRepo(t)
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.txt")
	must(t, os.WriteFile(precious, []byte("keep me"), 0o644))
	s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: dir})
	if _, err := s.Fetch(t.Context(), ""); err == nil {
		t.Fatal("Fetch into a directory of other files succeeded, want an error")
	}
	if data, err := os.ReadFile(precious); err != nil || string(data) != "keep me" {
		t.Fatalf("precious file after Fetch: %q, %v; want it untouched", data, err)
	}
}

// TestMemoryCacheWritesNothing: CacheDir "" (the dry run) leaves no file
// anywhere it could write: the working directory, TMPDIR and HOME.
func TestMemoryCacheWritesNothing(t *testing.T) {
	r, _ := seedRepo(t)
	r.WriteFile("current.conf", []byte("version 2\n"))
	c2 := r.Commit("version 2")
	srv := r.ServeHTTP(t)
	watched := t.TempDir()
	t.Chdir(watched)
	t.Setenv("TMPDIR", watched)
	t.Setenv("HOME", watched)

	for _, url := range []string{r.URL(), srv.URL} {
		s := newSource(t, gitsrc.Options{URL: url})
		if got := fetch(t, s, head(t, s)); got != c2 {
			t.Fatalf("%s: Fetch = %.12s, want %.12s", url, got, c2)
		}
		if got := readFile(t, s, c2, "current.conf"); got != "version 2\n" {
			t.Fatalf("%s: ReadFile = %q", url, got)
		}
	}
	must(t, filepath.WalkDir(watched, func(path string, d fs.DirEntry, err error) error {
		if path != watched {
			t.Errorf("in-memory Source wrote %s", path)
		}
		return err
	}))
}

// TestRestartNoNetwork: a new Source on a kept cache serves a commit it
// holds without a request.
func TestRestartNoNetwork(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	srv := r.ServeHTTP(t)
	dir := cacheDir(t)
	fetch(t, newSource(t, gitsrc.Options{URL: srv.URL, CacheDir: dir}), c1)
	before := srv.Stats()
	s := newSource(t, gitsrc.Options{URL: srv.URL, CacheDir: dir})
	if got := fetch(t, s, c1); got != c1 {
		t.Fatalf("Fetch = %.12s, want %.12s", got, c1)
	}
	if got := readFile(t, s, c1, "web/cfg.json"); got != `{"port": 8080}` {
		t.Fatalf("ReadFile = %q", got)
	}
	if after := srv.Stats(); after != before {
		t.Fatalf("stats %+v -> %+v, want no request", before, after)
	}
}

// TestFetchRejectsBadWant: want must be a full hash, as Head returns it.
func TestFetchRejectsBadWant(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	s := newSource(t, gitsrc.Options{URL: r.URL()})
	for _, want := range []string{"main", c1[:12], strings.ToUpper(c1), c1 + "0"} {
		if _, err := s.Fetch(t.Context(), want); err == nil {
			t.Errorf("Fetch(%q) succeeded, want an error", want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
