package reconcile

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// gitRig is an engine on a real deploy repo (git CLI, file://, gitsrc's
// Source with its cache) and the fake switcher; its Repo counts what is
// read through the seam.
type gitRig struct {
	l    Layout
	git  *gittest.Repo
	repo *countingRepo
	sw   *linkSwitcher
	e    *Engine
}

// linkSwitcher is fakeSwitcher that also points app.cfg at the config.
type linkSwitcher struct{ fakeSwitcher }

func (s *linkSwitcher) Switch(ctx context.Context, to appdir.Target) error {
	if err := s.fakeSwitcher.Switch(ctx, to); err != nil || to.Cfg == "" {
		return err
	}
	link := filepath.Join(s.dir, appdir.CfgLink)
	os.Remove(link)
	return os.Symlink(to.Cfg, link)
}

// countingRepo is a real Source that counts the files read through the
// Repo seam, and can run a function between Head and Fetch (a push that
// moves the ref while a pass runs).
type countingRepo struct {
	*gitsrc.Source
	reads     atomic.Int64 // ReadFile and OpenFile calls
	bytesRead atomic.Int64 // bytes read through OpenFile
	afterHead func()
}

func (r *countingRepo) Head(ctx context.Context) (string, error) {
	h, err := r.Source.Head(ctx)
	if f := r.afterHead; f != nil {
		r.afterHead = nil
		f()
	}
	return h, err
}

func (r *countingRepo) ReadFile(ctx context.Context, rev, path string) ([]byte, error) {
	r.reads.Add(1)
	return r.Source.ReadFile(ctx, rev, path)
}

func (r *countingRepo) OpenFile(ctx context.Context, rev, path string) (io.ReadCloser, int64, error) {
	r.reads.Add(1)
	rc, n, err := r.Source.OpenFile(ctx, rev, path)
	if err != nil {
		return rc, n, err
	}
	return countingReader{rc, &r.bytesRead}, n, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func newGitRig(t testing.TB) *gitRig {
	t.Helper()
	l := Layout{Dir: t.TempDir()}
	if err := os.MkdirAll(l.Release(), 0o755); err != nil {
		t.Fatal(err)
	}
	g := gittest.NewRepo(t)
	src, err := gitsrc.New(gitsrc.Options{URL: g.URL(), CacheDir: filepath.Join(l.Dir, ".reconciler", "git")})
	if err != nil {
		t.Fatal(err)
	}
	r := &gitRig{l: l, git: g, repo: &countingRepo{Source: src}, sw: &linkSwitcher{fakeSwitcher{dir: l.Dir}}}
	r.e = &Engine{Layout: l, Path: "current.conf", Repo: r.repo, Switcher: r.sw}
	return r
}

// commit commits version v with a committed binary of bin's bytes (a
// small script when nil) and returns the revision.
func (r *gitRig) commit(v string, bin []byte) string {
	if bin == nil {
		bin = []byte("#!/bin/sh\necho " + v + "\n")
	}
	r.git.WriteFile("bin/app", bin)
	r.git.WriteFile("current.conf", []byte(fmt.Sprintf(`{"version": %q, "bin": {"path": "bin/app"}}`, v)))
	return r.git.Commit("version " + v)
}
