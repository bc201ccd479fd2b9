package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestJudgementSurvivesTheEngine stops a pass while it switches from 1.0
// to 2.0 (before the links moved, and after), then lets a new engine (the
// next agent) run a pass or ApplyLocal: the stop is no error, 2.0 is never
// taken as applied before its verdict, and the new engine judges it: good
// ends applied, unhealthy ends failed with current.conf back on 1.0.
func TestJudgementSurvivesTheEngine(t *testing.T) {
	for _, linkFirst := range []bool{false, true} {
		for _, judgeErr := range []error{nil, unhealthy{}} {
			for _, local := range []bool{false, true} {
				name := fmt.Sprintf("links moved %v/unhealthy %v/apply local %v", linkFirst, judgeErr != nil, local)
				t.Run(name, func(t *testing.T) { testJudgementSurvives(t, linkFirst, judgeErr, local) })
			}
		}
	}
}

func testJudgementSurvives(t *testing.T, linkFirst bool, judgeErr error, local bool) {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	repo := &fakeRepo{head: head1, files: map[string]string{
		"current.conf": `{"version": "1.0", "bin": {"path": "bin/app"}}`, "bin/app": "#!/bin/sh\n"}}
	sw := &fakeSwitcher{dir: l.Dir}
	e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: sw}
	if _, err := e.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The agent is stopped while it switches to 2.0.
	repo.head, repo.files["current.conf"] = head2, `{"version": "2.0", "bin": {"path": "bin/app"}}`
	ctx, stop := context.WithCancel(t.Context())
	stop()
	sw.err, sw.linkFirst = context.Canceled, linkFirst
	if _, err := e.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped pass: got %v, want context.Canceled", err)
	}
	st, _ := l.LoadState()
	if st.LastError != nil {
		t.Errorf("a stop was recorded as the pass's error: %+v", st.LastError)
	}
	if r := st.Switch; r == nil || r.Verdict != VerdictJudging || r.Revision != head2 || r.From == nil || r.From.Version != "1.0" {
		t.Fatalf("switch record after the stop: got %+v, want 1.0 -> 2.0 judging", r)
	}
	if st.Applied == nil || st.Applied.Revision != head1 {
		t.Errorf("applied after the stop: got %+v, want %s", st.Applied, head1[:8])
	}
	status, _ := l.ReadStatus()
	var out strings.Builder
	status.Render(&out)
	if status.Judging == nil || !strings.Contains(out.String(), "judging:") {
		t.Errorf("status after the stop: got judging %+v and\n%s\nwant the switch to 2.0 shown judging", status.Judging, out.String())
	}

	// The next agent.
	sw2 := &fakeSwitcher{dir: l.Dir, judgeErr: judgeErr}
	e2 := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: sw2}
	var err error
	if local {
		err = e2.ApplyLocal(t.Context())
	} else {
		_, err = e2.Sync(t.Context())
	}
	if sw2.judges != 1 {
		t.Errorf("got %d judgements, want 1", sw2.judges)
	}
	st, _ = l.LoadState()
	conf, _ := l.ReadLocalConf()
	_, failed := st.IsFailed(head2)
	if judgeErr == nil {
		if err != nil || st.Switch.Verdict != VerdictGood || st.Applied == nil || st.Applied.Revision != head2 || failed {
			t.Errorf("good release: got err %v, verdict %s, applied %+v, failed %v; want 2.0 applied, good", err, st.Switch.Verdict, st.Applied, failed)
		}
		return
	}
	if !isUnhealthy(err) || st.Switch.Verdict != VerdictFailed || !failed || st.Applied.Revision != head1 || conf.Version != "1.0" {
		t.Errorf("bad release: got err %v, verdict %s, failed %v, applied %+v, current.conf %s; want 2.0 failed, 1.0 applied and in current.conf",
			err, st.Switch.Verdict, failed, st.Applied, conf.Version)
	}
	// The pass after it skips the failed revision and keeps 1.0.
	if _, err := e2.Sync(t.Context()); !errors.Is(err, errFailedRevision) {
		t.Errorf("the pass after: got %v, want %v", err, errFailedRevision)
	}
	if st, _ = l.LoadState(); st.Applied.Revision != head1 {
		t.Errorf("applied after the next pass: got %s, want %s", st.Applied.Revision[:8], head1[:8])
	}
}
