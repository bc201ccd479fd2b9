package gitsrc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestBranchCommitFiles: one commit sets an existing file and adds new
// files in new and existing directories, from a depth-1 clone over smart
// HTTP (protocol v2); git itself finds the trees well formed (fsck) and
// the files where they were put.
func TestBranchCommitFiles(t *testing.T) {
	r := pushableRepo(t)
	srv := r.ServeHTTP(t, gittest.AllowPush())
	src := newSource(t, gitsrc.Options{URL: srv.URL})
	before := r.Git("rev-parse", "HEAD")
	b, err := src.OpenBranch(t.Context(), 1, gitsrc.Trust{})
	if err != nil {
		t.Fatalf("OpenBranch: %v", err)
	}
	files := []gitsrc.File{
		{Path: "web/current.conf", Data: []byte("version 2\n")},
		{Path: "web/cfg-2.json", Data: []byte("{}\n"), Create: true},
		{Path: "web/bin/deep/web-2", Data: []byte("binary"), Create: true},
		{Path: "web.d/a", Data: []byte("sorts after web/ in git's order"), Create: true},
	}
	rev, err := b.CommitFiles(files, "bump", promoter, nil)
	if err != nil {
		t.Fatalf("CommitFiles: %v", err)
	}
	if err := b.Push(t.Context()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	r.Git("fsck", "--strict", "--no-dangling")
	for _, f := range files {
		if got := r.Git("show", rev+":"+f.Path); got != strings.TrimSuffix(string(f.Data), "\n") {
			t.Errorf("%s: got %q, want %q", f.Path, got, f.Data)
		}
	}
	if got := r.Git("diff", "--name-only", before, rev); got != "web.d/a\nweb/bin/deep/web-2\nweb/cfg-2.json\nweb/current.conf" {
		t.Errorf("files changed: got %q", got)
	}

	b, err = src.OpenBranch(t.Context(), 1, gitsrc.Trust{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.CommitFiles([]gitsrc.File{{Path: "web/missing.conf", Data: []byte("x")}}, "no", promoter, nil)
	if !errors.Is(err, gitsrc.ErrFileNotFound) {
		t.Errorf("CommitFiles of a missing file without Create: got %v, want ErrFileNotFound", err)
	}
}

// TestBranchPushTo: a commit pushed to a new branch leaves the followed
// one where it was; pushing another commit to that name is refused.
func TestBranchPushTo(t *testing.T) {
	r := pushableRepo(t)
	src := newSource(t, gitsrc.Options{URL: r.URL()})
	before := r.Git("rev-parse", "main")
	push := func(data string) (string, error) {
		b, err := src.OpenBranch(t.Context(), 1, gitsrc.Trust{})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := b.Commit("web/current.conf", []byte(data), "review me", promoter, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rev, b.PushTo(t.Context(), "bump/web-2")
	}
	rev, err := push("version 2\n")
	if err != nil {
		t.Fatalf("PushTo: %v", err)
	}
	if got := r.Git("rev-parse", "bump/web-2"); got != rev {
		t.Errorf("bump/web-2: got %s, want %s", got, rev)
	}
	if got := r.Git("rev-parse", "main"); got != before {
		t.Errorf("main moved to %s", got)
	}
	if _, err := push("version 3\n"); err == nil {
		t.Error("PushTo over an existing branch of another history: got no error")
	}
	if got := r.Git("rev-parse", "bump/web-2"); got != rev {
		t.Errorf("bump/web-2 after the refused push: got %s, want %s", got, rev)
	}
	for _, bad := range []string{"", "refs/heads/x", "a..b", "-x", "a b"} {
		if err := gitsrc.CheckBranch(bad); err == nil {
			t.Errorf("CheckBranch(%q): got nil, want an error", bad)
		}
	}
}

// TestOpenBranchDepthV2: a writer's clone of N commits over smart HTTP is
// made in protocol v2 (the refs listed are the followed one alone, however
// many the repo has) and holds exactly N commits of history.
func TestOpenBranchDepthV2(t *testing.T) {
	r := pushableRepo(t)
	for i := range 5 {
		r.WriteFile("other.conf", []byte{byte('a' + i)})
		r.Commit("other")
	}
	r.AddRefs("refs/tags/v", 2000)
	srv := r.ServeHTTP(t, gittest.AllowPush())
	for _, depth := range []int{1, 3} {
		src := newSource(t, gitsrc.Options{URL: srv.URL})
		before := srv.Handler.Stats()
		b, err := src.OpenBranch(t.Context(), depth, gitsrc.Trust{})
		if err != nil {
			t.Fatalf("OpenBranch(%d): %v", depth, err)
		}
		got := srv.Handler.Stats()
		if got.BytesOut-before.BytesOut > 20_000 {
			t.Errorf("depth %d: the server sent %d bytes, want a v2 exchange (2,000 tags cost more than 20 kB in v0)", depth, got.BytesOut-before.BytesOut)
		}
		n := 0
		shallow, err := b.Log(t.Context(), "other.conf", func(gitsrc.Rev) bool { n++; return true })
		if err != nil || !shallow || n != depth {
			t.Errorf("depth %d: Log saw %d commits (shallow %v, %v), want %d", depth, n, shallow, err, depth)
		}
	}
}
