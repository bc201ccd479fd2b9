package reconcile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// errNotAppDir marks a directory that is not an app directory: missing, or
// holding neither .reconciler/ nor release/. Commands that act on an
// existing app directory refuse it and create nothing, so that a mistyped
// --dir is not taken for a new, empty one.
var errNotAppDir = errors.New("not an app directory")

// CheckAppDir refuses a directory that is not an app directory.
func (l Layout) CheckAppDir() error {
	fi, err := os.Stat(l.Dir)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", l.Dir, errNotAppDir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w: it is a file", l.Dir, errNotAppDir)
	}
	for _, sub := range []string{l.StateDir(), l.Release()} {
		if fi, err := os.Stat(sub); err == nil && fi.IsDir() {
			return nil
		}
	}
	return fmt.Errorf("%s: %w: it holds neither .reconciler/ nor release/ (a typo in --dir? the first `reconciler sync` or `run` creates one)", l.Dir, errNotAppDir)
}

// A retry request lives in its own file, as a suspension does: the agent
// holds the lock and rewrites state.json, so `reconciler retry` leaves the
// request for the agent's next pass instead of editing the state.
func (l Layout) retryFile() string { return filepath.Join(l.StateDir(), "retry") }

// RequestRetry asks the next pass to forget that rev failed.
func (l Layout) RequestRetry(rev string) error {
	if err := artifacts.WriteFileAtomic(l.retryFile(), []byte(rev+"\n"), 0o600); err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}

// takeRetry forgets the failure, or the refused downloads, a person asked
// to retry, if any, and removes the request. It returns the revision
// forgotten.
func (l Layout) takeRetry(st *State) string {
	rev := l.retryAsked()
	if rev == "" {
		return ""
	}
	_ = os.Remove(l.retryFile())
	return st.retry(rev)
}

// retryAsked returns the revision a person asked to retry, "" when none.
func (l Layout) retryAsked() string {
	data, err := os.ReadFile(l.retryFile())
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// retry forgets the failure of rev, or its refused downloads, and returns
// rev when it forgot anything ("" asks nothing).
func (st *State) retry(rev string) string {
	if rev == "" {
		return ""
	}
	n := len(st.Mismatches)
	st.forgetMismatches(func(r string) bool { return r == rev })
	if _, ok := st.IsFailed(rev); !ok {
		if len(st.Mismatches) < n {
			return rev
		}
		return ""
	}
	st.forget(rev)
	return rev
}

// forget drops rev from the failed revisions.
func (s *State) forget(rev string) {
	kept := s.Failed[:0]
	for _, f := range s.Failed {
		if f.Revision != rev {
			kept = append(kept, f)
		}
	}
	s.Failed = kept
}

// HeadFailure returns the failure of the revision the followed ref pointed
// at in the last poll: a failure that still matters, as opposed to the
// history of failures the repo has since moved past.
func (s *State) HeadFailure() (Failed, bool) {
	if s.LastPoll == nil || s.LastPoll.Revision == "" {
		return Failed{}, false
	}
	return s.IsFailed(s.LastPoll.Revision)
}
