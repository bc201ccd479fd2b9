package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/errclass"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// errKnownMismatch marks a release file whose URL served other bytes than
// its pinned sha256 at this revision, now or before: it is remembered, and
// not downloaded again until the followed ref moves or a person asks
// `reconciler retry`. A wrong pin would otherwise pull the whole file at
// every poll, on every host. It needs a person.
var errKnownMismatch = errclass.New(errclass.NeedsPerson, "remembered: not downloaded again at this revision")

// Mismatch is a download refused for its digest, remembered in the state
// (so across restarts) per revision and URL.
type Mismatch struct {
	Revision string    `json:"revision"`
	URL      string    `json:"url"` // redacted: the state never holds a credential
	Want     string    `json:"want"`
	Got      string    `json:"got"`
	Bytes    int64     `json:"bytes"`
	Time     time.Time `json:"time"`
}

// maxMismatches bounds the list (a desired file has two URLs; several
// agents' apps do not share a state).
const maxMismatches = 8

// fetchStep applies one step of the revision rev, unless its download was
// refused for its digest at rev before; a refusal now is remembered, and
// its bytes counted as refused. Both say the same words, so that the
// refusal is one error, told once (errorIsNews), however many passes see it.
func (e *Engine) fetchStep(ctx context.Context, s fileStep, st *State, rev string) error {
	if err := e.refusedStep(s, st, rev); err != nil {
		return err
	}
	err := e.applyStep(ctx, s)
	var de *artifacts.DigestError
	if s.Action != fetchAction || !errors.As(err, &de) {
		return err
	}
	m := Mismatch{Revision: rev, URL: redact.URL(s.URL), Want: de.Want, Got: de.Got, Bytes: de.Size, Time: e.now()}
	e.Metrics.downloadedBytes(downloadRefused, de.Size)
	st.rememberMismatch(m)
	e.log().Error("download refused: its sha256 is not the pinned one; not downloaded again at this revision",
		"url", m.URL, "rev", short(rev), "got", de.Got, "want", de.Want, "bytes", de.Size)
	return e.mismatchErr(s, m)
}

// refusedStep is the error of a download of rev refused for its digest
// before, nil when there is none.
func (e *Engine) refusedStep(s fileStep, st *State, rev string) error {
	if s.Action != fetchAction {
		return nil
	}
	if m, ok := st.mismatch(rev, s); ok {
		return e.mismatchErr(s, m)
	}
	return nil
}

// refusedBefore is the error the first step of plan refused before meets
// (for a dry pass: the sync stops there without a download).
func (e *Engine) refusedBefore(plan Plan, st *State, rev string) error {
	for _, s := range plan.steps {
		if err := e.refusedStep(s, st, rev); err != nil {
			return err
		}
	}
	return nil
}

// mismatchErr is the error of a step whose download was refused for its
// digest: it needs a person, and names the URL and both digests.
func (e *Engine) mismatchErr(s fileStep, m Mismatch) error {
	return fmt.Errorf("%s %s: %w: %s served sha256 %s, the desired file pins %s (downloaded at %s, %d bytes; %w until the deploy repo moves on or `reconciler retry --dir %s`)",
		s.Kind, e.Layout.Rel(s.Target), artifacts.ErrDigestMismatch, m.URL, m.Got, m.Want,
		m.Time.Format(time.RFC3339), m.Bytes, errKnownMismatch, e.Layout.Dir)
}

func (st *State) mismatch(rev string, s fileStep) (Mismatch, bool) {
	u := redact.URL(s.URL)
	for _, m := range st.Mismatches {
		if m.Revision == rev && m.URL == u && m.Want == s.SHA256 {
			return m, true
		}
	}
	return Mismatch{}, false
}

func (st *State) rememberMismatch(m Mismatch) {
	st.Mismatches = append(st.Mismatches, m)
	if len(st.Mismatches) > maxMismatches {
		st.Mismatches = st.Mismatches[len(st.Mismatches)-maxMismatches:]
	}
}

// forgetMismatches drops the refusals at the revisions for which drop
// answers true: every revision but the head once the followed ref moved,
// the retried one for `reconciler retry`.
func (st *State) forgetMismatches(drop func(rev string) bool) {
	var kept []Mismatch
	for _, m := range st.Mismatches {
		if !drop(m.Revision) {
			kept = append(kept, m)
		}
	}
	st.Mismatches = kept
}

// HeadMismatch returns a refused download of the revision the followed ref
// pointed at in the last poll, if any: what `reconciler retry` forgets.
func (st *State) HeadMismatch() (Mismatch, bool) {
	if st.LastPoll == nil {
		return Mismatch{}, false
	}
	for _, m := range st.Mismatches {
		if m.Revision == st.LastPoll.Revision {
			return m, true
		}
	}
	return Mismatch{}, false
}
