package promote_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/promote"
)

// TestGitRepo: a real deploy repo over smart HTTP. Log reads the file at
// the head and before it, a commit is pushed and lands by reconciler
// promote, and a branch opened before someone else pushed is refused
// with ErrPushRejected.
func TestGitRepo(t *testing.T) {
	r := gittest.NewRepo(t)
	r.WriteFile("web/current.conf", []byte("one\n"))
	r.Commit("one")
	r.WriteFile("web/current.conf", []byte("two\n"))
	r.Commit("two")
	root := t.TempDir()
	bare := filepath.Join(root, "deploy.git")
	r.Git("clone", "-q", "--bare", r.Dir, bare)
	srv, err := gittest.NewServer(root, gittest.AllowPush())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	src, err := gitsrc.New(gitsrc.Options{URL: srv.URL + "/deploy.git"})
	if err != nil {
		t.Fatal(err)
	}
	repo := promote.GitRepo{Source: src}

	b, err := repo.Open(t.Context(), 32)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var seen []string
	if _, err := b.Log(t.Context(), "web/current.conf", func(rev promote.Rev) bool {
		seen = append(seen, strings.TrimSpace(string(rev.Data)))
		return true
	}); err != nil {
		t.Fatalf("Log: %v", err)
	}
	if got := strings.Join(seen, ","); got != "two,one" {
		t.Errorf("Log: got %s, want two,one", got)
	}
	stale, err := repo.Open(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := b.Commit("web/current.conf", []byte("three\n"), "three")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := b.Push(t.Context()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got := strings.TrimSpace(r.Git("--git-dir", bare, "rev-parse", "main")); got != rev {
		t.Errorf("main after the push: got %s, want %s", got, rev)
	}
	if got := r.Git("--git-dir", bare, "log", "-1", "--format=%an"); !strings.Contains(got, "reconciler promote") {
		t.Errorf("author: got %q, want reconciler promote", got)
	}

	if _, err := stale.Commit("web/current.conf", []byte("four\n"), "four"); err != nil {
		t.Fatal(err)
	}
	if err := stale.Push(t.Context()); !errors.Is(err, promote.ErrPushRejected) {
		t.Errorf("push on a branch that moved: got %v, want ErrPushRejected", err)
	}
}
