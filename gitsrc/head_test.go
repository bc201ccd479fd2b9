package gitsrc_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// TestRefNotFoundListsBranches: the default ref (main) on a repo whose branch
// is master fails with ErrRefNotFound, and the error names the branches
// there, from the one listing already made, and points at --ref.
func TestRefNotFoundListsBranches(t *testing.T) {
	t.Parallel()
	master := gittestRepo(t)
	master.Git("branch", "-m", "master")

	many := gittestRepo(t)
	for i := 12; i >= 1; i-- { // created out of order: the list is sorted
		many.Git("branch", fmt.Sprintf("b%02d", i))
	}
	many.Git("branch", "-m", "main", "zz")

	tagsOnly := gittestRepo(t)
	tagsOnly.Git("tag", "v2")
	tagsOnly.Git("tag", "-a", "-m", "v1", "v1") // annotated: listed once, not as v1^{}
	tagsOnly.Git("checkout", "-q", "--detach")
	tagsOnly.Git("branch", "-D", "main")

	for _, tc := range []struct {
		name, url, want string
	}{
		{"master over file", master.URL(), "ref not found; the repository's branches are: master; set --ref to one of them"},
		{"master over HTTP", master.ServeHTTP(t).URL, "ref not found; the repository's branches are: master; set --ref to one of them"},
		{"many branches", many.URL(), "the repository's branches are: b01, b02, b03, b04, b05, b06, b07, b08, b09, b10 and 3 more; set --ref"},
		{"tags only", tagsOnly.URL(), "the repository's tags are: v1, v2; set --ref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSource(t, gitsrc.Options{URL: tc.url, CacheDir: cacheDir(t)})
			_, headErr := s.Head(t.Context())
			_, fetchErr := s.Fetch(t.Context(), "")
			for call, err := range map[string]error{"Head": headErr, "Fetch": fetchErr} {
				if !errors.Is(err, gitsrc.ErrRefNotFound) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: got %v, want ErrRefNotFound with %q", call, err, tc.want)
				}
				if err != nil && !strings.Contains(err.Error(), "find ref main in "+redact.URL(tc.url)) {
					t.Errorf("%s: got %q, want it to name ref main and the URL", call, err)
				}
			}
			if got := s.Stats().RefListings; got != 2 {
				t.Errorf("got %d ref listings for Head and Fetch, want 2 (no extra call for the hint)", got)
			}
		})
	}
}

// TestRefNotFoundTag: a missing tag on a repo with branches lists the
// branches too (the hint is the same whatever the ref looked like).
func TestRefNotFoundTag(t *testing.T) {
	t.Parallel()
	r := gittestRepo(t)
	r.Git("branch", "release")
	s := newSource(t, gitsrc.Options{URL: r.URL(), Ref: "refs/tags/v9", CacheDir: cacheDir(t)})
	_, err := s.Head(t.Context())
	want := "find ref refs/tags/v9 in " + r.URL() + ": ref not found; the repository's branches are: main, release; set --ref to one of them"
	if !errors.Is(err, gitsrc.ErrRefNotFound) || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
