package reconcile

import (
	"errors"
	"testing"
)

// TestFailedRevisionFetchedAfterHead: the ref moves to a failed revision
// between the listing and the fetch, so Fetch returns another revision
// than the head it was asked for. The pass judges the revision it would
// apply, the fetched one: a failed revision is skipped, never applied.
func TestFailedRevisionFetchedAfterHead(t *testing.T) {
	r := newGitRig(t)
	good := r.commit("1.0", nil)
	bad := r.commit("2.0", nil)
	r.git.Git("update-ref", "refs/heads/main", good)

	st := State{}
	st.markFailed(Failed{Revision: bad, Version: "2.0", Reason: "did not come up"})
	if err := r.l.saveState(st); err != nil {
		t.Fatal(err)
	}
	// The first pass lists good; the push of bad lands before its fetch.
	r.repo.afterHead = func() { r.git.Git("update-ref", "refs/heads/main", bad) }
	out, err := r.e.Sync(t.Context())
	if !errors.Is(err, errFailedRevision) || out.Result != PollSkipped || out.Rev != bad {
		t.Errorf("got %q at %.12s, %v; want %q at the fetched %.12s, %v", out.Result, out.Rev, err, PollSkipped, bad, errFailedRevision)
	}
	if r.sw.switches != 0 {
		t.Errorf("%d switches, want none: revision %.12s failed before", r.sw.switches, bad)
	}
}
