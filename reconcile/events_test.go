package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a Notifier that keeps what it is told (the seam that
// internal/notify fills with real HTTP deliveries).
type recorder struct{ events []Event }

func (r *recorder) Notify(ev Event) { r.events = append(r.events, ev) }

// take returns the events since the last take, as "kind from->to rev".
func (r *recorder) take() []string {
	var out []string
	for _, ev := range r.events {
		out = append(out, fmt.Sprintf("%s %s->%s %.4s", ev.Kind, ev.FromVersion, ev.ToVersion, ev.Revision))
		if ev.Time.IsZero() {
			out = append(out, "no time")
		}
	}
	r.events = nil
	return out
}

func (r *recorder) expect(t *testing.T, when string, want ...string) {
	t.Helper()
	got := r.take()
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("%s: events %q, want %q", when, got, want)
	}
}

// eventsRig is an engine on a fake repo and switcher, telling a recorder.
type eventsRig struct {
	l    Layout
	repo *fakeRepo
	sw   *fakeSwitcher
	rec  *recorder
	e    *Engine
}

func newEventsRig(t *testing.T) *eventsRig {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	r := &eventsRig{l: l, repo: &fakeRepo{files: map[string]string{}}, sw: &fakeSwitcher{dir: l.Dir}, rec: &recorder{}}
	r.restart()
	return r
}

// restart is a new engine on the same directory, as after an agent restart.
func (r *eventsRig) restart() {
	r.e = &Engine{Layout: r.l, Path: "current.conf", Repo: r.repo, Switcher: r.sw, Notify: r.rec}
}

// commit points the head at rev, with version v (or a broken file for "").
func (r *eventsRig) commit(rev, v string) {
	r.repo.head = rev
	r.repo.files["bin/app-"+v] = "#!/bin/sh\necho " + v + "\n"
	r.repo.files["current.conf"] = fmt.Sprintf(`{"version": %q, "bin": {"path": "bin/app-%s"}}`, v, v)
	if v == "" {
		r.repo.files["current.conf"] = `{"version": "9"}`
	}
}

func (r *eventsRig) sync(t *testing.T) error {
	t.Helper()
	_, err := r.e.Sync(t.Context())
	return err
}

func rev(c byte) string { return strings.Repeat(string(c), 40) }

func TestEventsApplyAndRollBack(t *testing.T) {
	r := newEventsRig(t)
	r.commit(rev('a'), "1.0")
	r.sync(t)
	r.rec.expect(t, "first deploy", "applied ->1.0 aaaa")
	r.sync(t)
	r.rec.expect(t, "nothing new")

	r.commit(rev('b'), "2.0")
	r.sync(t)
	r.rec.expect(t, "bump", "applied 1.0->2.0 bbbb")

	r.sw.err = unhealthy{}
	r.commit(rev('c'), "3.0")
	if err := r.sync(t); err == nil {
		t.Fatal("sync of an unhealthy release: no error")
	}
	r.rec.expect(t, "unhealthy release", "rolled_back 3.0->2.0 cccc") // the switch back, as on-rollback is told
	for range 3 {
		r.sync(t)
	}
	r.rec.expect(t, "the failed revision skipped three times")

	// Drift: the link moved by hand is put back, told as drift only.
	r.sw.err = nil
	r.commit(rev('d'), "4.0")
	r.sync(t)
	r.rec.take()
	os.Remove(filepath.Join(r.l.Dir, "app.bin"))
	os.Symlink(r.l.BinFile("2.0"), filepath.Join(r.l.Dir, "app.bin"))
	if err := r.sync(t); err != nil {
		t.Fatal(err)
	}
	r.rec.expect(t, "drift", "drift 4.0->4.0 dddd")
}

// TestEventsFailedOnce: an error that needs a person is told at its first
// pass and not again while it lasts, also after a restart; another
// revision with an error is told again.
func TestEventsFailedOnce(t *testing.T) {
	r := newEventsRig(t)
	r.commit(rev('a'), "1.0")
	r.sync(t)
	r.rec.take()

	r.commit(rev('b'), "")
	for range 3 {
		if err := r.sync(t); !errors.Is(err, ErrInvalidDesired) {
			t.Fatalf("sync of a bad desired file: %v", err)
		}
	}
	r.rec.expect(t, "a bad commit over three passes", "failed 1.0-> bbbb")
	r.restart()
	r.sync(t)
	r.rec.expect(t, "the same bad commit after a restart")

	r.commit(rev('c'), "")
	r.sync(t)
	r.sync(t)
	r.rec.expect(t, "another bad commit", "failed 1.0-> cccc")

	r.commit(rev('d'), "2.0")
	r.sync(t)
	r.commit(rev('c'), "")
	r.sync(t)
	r.rec.expect(t, "good, then bad again", "applied 1.0->2.0 dddd", "failed 2.0-> cccc")
}

// TestEventsFailedPersisted: a fault to retry is told once it failed
// failedAfter passes in a row, once per run of failures, counted across a
// restart.
func TestEventsFailedPersisted(t *testing.T) {
	r := newEventsRig(t)
	r.commit(rev('a'), "1.0")
	r.sync(t)
	r.rec.take()

	r.repo.headErr = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	r.sync(t)
	r.repo.headErr = errors.New("git host: timeout after 1m0s") // another wording, the same outage
	r.sync(t)
	r.rec.expect(t, "two failed passes")
	r.restart()
	r.sync(t)
	r.rec.expect(t, "the third failed pass, after a restart", "failed 1.0-> ") // the head is unknown
	for range 3 {
		r.sync(t)
	}
	r.rec.expect(t, "the outage goes on")

	r.repo.headErr = nil
	r.sync(t)
	r.repo.headErr = errors.New("dial tcp: connection refused")
	for range 3 {
		r.sync(t)
	}
	r.rec.expect(t, "a new outage after a good pass", "failed 1.0-> ")
	st, _ := r.l.LoadState()
	if st.LastError == nil || st.LastError.Passes != 3 {
		t.Errorf("state: last error %+v, want 3 passes", st.LastError)
	}
}

// untrustedVerifier refuses every commit.
type untrustedVerifier struct{}

func (untrustedVerifier) VerifyCommit(_ context.Context, rev string) (string, error) {
	return "", fmt.Errorf("commit %.12s is not signed", rev)
}

func TestEventsUntrustedOncePerRevision(t *testing.T) {
	r := newEventsRig(t)
	r.e.Verify = untrustedVerifier{}
	r.commit(rev('a'), "1.0")
	for range 3 {
		if err := r.sync(t); !errors.Is(err, errUntrusted) {
			t.Fatalf("sync of an unsigned commit: %v", err)
		}
	}
	r.rec.expect(t, "one unsigned commit, three passes", "untrusted -> aaaa") // nothing of it is read
	r.commit(rev('b'), "2.0")
	r.sync(t)
	r.sync(t)
	r.rec.expect(t, "the next unsigned commit", "untrusted -> bbbb")
}

// TestEventsLocal: the watcher's hand edits: a switch to another release
// is applied, a refused file failed once while it stays.
func TestEventsLocal(t *testing.T) {
	r := newEventsRig(t)
	for _, v := range []string{"1.0", "2.0"} {
		r.commit(rev(v[0]), v)
		r.sync(t)
	}
	r.rec.take()
	write := func(s string) {
		os.WriteFile(r.l.CurrentConf(), []byte(s), 0o644)
	}
	write(fmt.Sprintf(`{"bin.file": %q, "version": "1.0"}`, r.l.BinFile("1.0")))
	if err := r.e.ApplyLocal(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.rec.expect(t, "hand edit back to 1.0", "applied 2.0->1.0 ")
	r.sw.err = unhealthy{}
	write(fmt.Sprintf(`{"bin.file": %q, "version": "2.0"}`, r.l.BinFile("2.0")))
	if err := r.e.ApplyLocal(t.Context()); err == nil {
		t.Fatal("a hand edit to a release that does not come up: no error")
	}
	r.rec.expect(t, "hand edit to 2.0, switched back", "rolled_back 2.0->1.0 ") // the switch back, as on-rollback is told
	r.sw.err = nil
	write(`{"bin.file": "/etc/passwd"}`)
	for range 2 {
		if err := r.e.ApplyLocal(t.Context()); !errors.Is(err, errBadLocalConf) {
			t.Fatalf("a file pointing outside release/: %v", err)
		}
	}
	if got := r.rec.take(); len(got) != 1 || !strings.HasPrefix(got[0], "failed") {
		t.Errorf("a refused file twice: events %q, want one failed", got)
	}
}
