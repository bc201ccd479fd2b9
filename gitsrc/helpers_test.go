package gitsrc_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

func gittestRepo(tb testing.TB) *gittest.Repo {
	r := gittest.NewRepo(tb)
	r.WriteFile("current.conf", []byte("version 1\n"))
	r.Commit("version 1")
	return r
}

// seedRepo returns a deploy repo with one commit holding current.conf.
func seedRepo(t *testing.T) (*gittest.Repo, string) {
	t.Helper()
	r := gittest.NewRepo(t)
	r.WriteFile("current.conf", []byte("version 1\n"))
	r.WriteFile("web/cfg.json", []byte(`{"port": 8080}`))
	return r, r.Commit("version 1")
}

func newSource(t *testing.T, opts gitsrc.Options) *gitsrc.Source {
	t.Helper()
	s, err := gitsrc.New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return s
}

func head(t *testing.T, s *gitsrc.Source) string {
	t.Helper()
	h, err := s.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

func fetch(t *testing.T, s *gitsrc.Source, want string) string {
	t.Helper()
	got, err := s.Fetch(t.Context(), want)
	if err != nil {
		t.Fatalf("Fetch(%.12s): %v", want, err)
	}
	return got
}

func readFile(t *testing.T, s *gitsrc.Source, rev, path string) string {
	t.Helper()
	data, err := s.ReadFile(t.Context(), rev, path)
	if err != nil {
		t.Fatalf("ReadFile(%.12s, %q): %v", rev, path, err)
	}
	return string(data)
}

// packCount counts the pack files of a cache on disk.
func packCount(t *testing.T, cacheDir string) int {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(cacheDir, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return len(packs)
}

// within fails the test if f takes longer than d.
func within(t *testing.T, d time.Duration, f func(ctx context.Context)) {
	t.Helper()
	start := time.Now()
	f(t.Context())
	if took := time.Since(start); took > d {
		t.Errorf("took %s, want under %s", took, d)
	}
}

func cacheDir(t *testing.T) string {
	return filepath.Join(t.TempDir(), ".reconciler", "git")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
