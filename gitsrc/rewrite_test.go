package gitsrc_test

import (
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// TestForcePush follows a rewritten branch with a kept cache, the trap of
// go-git #1443: a shallow cache, the branch rewound to a commit it never
// had, then amended. Each step uses a new Source on the same CacheDir, as a
// restarted reconciler would.
func TestForcePush(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"file", "http"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r, c1 := seedRepo(t)
			url := r.URL()
			if transport == "http" {
				url = r.ServeHTTP(t).URL
			}
			dir := cacheDir(t)
			step := func(name, wantContent string) {
				t.Helper()
				want := r.Git("rev-parse", "HEAD")
				s := newSource(t, gitsrc.Options{URL: url, CacheDir: dir})
				if got := head(t, s); got != want {
					t.Fatalf("%s: Head = %.12s, want %.12s", name, got, want)
				}
				if got := fetch(t, s, want); got != want {
					t.Fatalf("%s: Fetch = %.12s, want %.12s", name, got, want)
				}
				if got := readFile(t, s, want, "current.conf"); got != wantContent {
					t.Fatalf("%s: ReadFile = %q, want %q", name, got, wantContent)
				}
			}

			r.WriteFile("current.conf", []byte("version 2\n"))
			r.Commit("version 2")
			step("first contact at version 2", "version 2\n") // the cache never holds c1

			r.Git("reset", "-q", "--hard", c1)
			step("rewound to a commit never fetched", "version 1\n")

			r.WriteFile("current.conf", []byte("version 3\n"))
			r.Commit("version 3")
			step("new commit on the rewound branch", "version 3\n")

			r.WriteFile("current.conf", []byte("version 3b\n"))
			r.Git("add", "-A")
			r.Git("commit", "-q", "--amend", "-m", "version 3b")
			step("amended", "version 3b\n")

			r.Git("reset", "-q", "--hard", c1)
			step("rewound to a cached commit", "version 1\n")
		})
	}
}

// TestTags follows annotated and lightweight tags, short and full, and a tag
// moved with git tag -f.
func TestTags(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	r.Git("tag", "-a", "v1", "-m", "release 1")
	r.Git("tag", "light1")
	r.WriteFile("current.conf", []byte("version 2\n"))
	c2 := r.Commit("version 2")
	srv := r.ServeHTTP(t)

	for _, tc := range []struct{ ref, want, content string }{
		{"v1", c1, "version 1\n"},
		{"refs/tags/v1", c1, "version 1\n"},
		{"light1", c1, "version 1\n"},
		{"refs/tags/light1", c1, "version 1\n"},
		{"main", c2, "version 2\n"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			t.Parallel()
			s := newSource(t, gitsrc.Options{URL: srv.URL, Ref: tc.ref, CacheDir: cacheDir(t)})
			if got := head(t, s); got != tc.want {
				t.Fatalf("Head = %.12s, want the commit %.12s", got, tc.want)
			}
			if got := fetch(t, s, tc.want); got != tc.want {
				t.Fatalf("Fetch = %.12s, want %.12s", got, tc.want)
			}
			if got := readFile(t, s, tc.want, "current.conf"); got != tc.content {
				t.Fatalf("ReadFile = %q, want %q", got, tc.content)
			}
		})
	}
}

// TestTagMoved: a tag re-pointed with git tag -f is followed.
func TestTagMoved(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	r.Git("tag", "-a", "prod", "-m", "prod")
	s := newSource(t, gitsrc.Options{URL: r.URL(), Ref: "prod", CacheDir: cacheDir(t)})
	if got := fetch(t, s, head(t, s)); got != c1 {
		t.Fatalf("Fetch = %.12s, want %.12s", got, c1)
	}
	r.WriteFile("current.conf", []byte("version 2\n"))
	c2 := r.Commit("version 2")
	r.Git("tag", "-f", "-a", "prod", "-m", "prod again")
	if got := head(t, s); got != c2 {
		t.Fatalf("Head after tag -f = %.12s, want %.12s", got, c2)
	}
	if got := fetch(t, s, c2); got != c2 {
		t.Fatalf("Fetch after tag -f = %.12s, want %.12s", got, c2)
	}
	if got := readFile(t, s, c2, "current.conf"); got != "version 2\n" {
		t.Fatalf("ReadFile = %q, want %q", got, "version 2\n")
	}
}

// TestBranchBeforeTag: a short name that is a branch and a tag means the
// branch.
func TestBranchBeforeTag(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	r.Git("tag", "main-ish")
	r.Git("branch", "main-ish")
	r.Git("tag", "-f", "main", c1) // a tag named like the branch
	r.WriteFile("current.conf", []byte("version 2\n"))
	c2 := r.Commit("version 2")
	s := newSource(t, gitsrc.Options{URL: r.URL(), Ref: "main"})
	if got := head(t, s); got != c2 {
		t.Fatalf("Head(main) = %.12s, want the branch %.12s, not the tag %.12s", got, c2, c1)
	}
	if got := fetch(t, s, ""); got != c2 {
		t.Fatalf("Fetch(main) = %.12s, want %.12s", got, c2)
	}
}
