package main

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// oneLine fails the test unless b's text is one line of at most 300
// characters.
func oneLine(t *testing.T, b notify.Body) {
	t.Helper()
	if strings.ContainsAny(b.Text, "\r\n") || utf8.RuneCountInString(b.Text) > 300 || b.Text == "" {
		t.Errorf("%s event: text %q, want one line of at most 300 characters", b.Event, b.Text)
	}
	if strings.ContainsAny(b.Error, "\r\n") {
		t.Errorf("%s event: error %q, want one line (output goes to detail)", b.Event, b.Error)
	}
	if len(b.Detail) > 4<<10 {
		t.Errorf("%s event: detail of %d bytes, want at most 4 KiB", b.Event, len(b.Detail))
	}
}

// TestSyncNotifiesRollbackAndPreSwitch: real syncs of the example app with
// real hooks tell a receiver of a release that did not come up, and of a
// failing pre-switch hook, each once; text is one line, what app.log and
// the hook printed is in detail; rolled_back's versions go the way the
// on-rollback hook is told: from the failed release to the one running
// again.
func TestSyncNotifiesRollbackAndPreSwitch(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr, dir, tmp := freeAddr(t), t.TempDir(), t.TempDir()
	killApps(t, dir)
	rcv := newReceiver(t)
	rollEnv := filepath.Join(tmp, "rollback-env")
	sync := func() (string, int) {
		_, errOut, code := runCLI(t, "sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
			"--health-url", "http://"+addr+"/healthz", "--health-timeout", "10s", "--log-format", "json",
			"--notify-url", rcv.URL,
			"--on-rollback", hookScript(t, tmp, "rollback.sh", "env > "+rollEnv+"\n"),
			"--pre-switch", hookScript(t, tmp, "pre.sh", "[ \"$RECONCILER_TO_VERSION\" = 3 ] || exit 0\n"+
				"echo 'migration step one'\necho 'migration FAILED: table locked' >&2\nexit 3\n"))
		return errOut, code
	}
	d.releaseApp(t, "1", addr, nil)
	if errOut, code := sync(); code != 0 {
		t.Fatalf("sync of 1: exit %d\n%s", code, errOut)
	}
	bad := d.releaseApp(t, "2-bad", addr, map[string]any{"fail_start": true})
	if errOut, code := sync(); code == 0 || !strings.Contains(errOut, "switched back") {
		t.Fatalf("sync of a release that fails to start: exit %d %q, want it switched back", code, errOut)
	}
	got := events(t, rcv)
	if kinds(got) != "applied,rolled_back" {
		t.Fatalf("events: got %s, want applied,rolled_back", kinds(got))
	}
	rb := got[1]
	oneLine(t, rb)
	if rb.FromVersion != "2-bad" || rb.ToVersion != "1" || rb.Revision != bad {
		t.Errorf("rolled_back: from %q to %q at %.12s, want from the failed 2-bad to 1, at %.12s", rb.FromVersion, rb.ToVersion, rb.Revision, bad)
	}
	if !strings.Contains(rb.Detail, `fail_start`) || !strings.Contains(rb.Text, "2-bad -> 1 rolled back") {
		t.Errorf("rolled_back: text %q, detail %q; want the versions in the text and app.log's lines in detail", rb.Text, rb.Detail)
	}
	env := envOf(t, rollEnv)
	if env["RECONCILER_FROM_VERSION"] != rb.FromVersion || env["RECONCILER_TO_VERSION"] != rb.ToVersion {
		t.Errorf("on-rollback hook told %s -> %s, the event %s -> %s: want one meaning", env["RECONCILER_FROM_VERSION"],
			env["RECONCILER_TO_VERSION"], rb.FromVersion, rb.ToVersion)
	}

	rev3 := d.releaseApp(t, "3", addr, nil)
	if errOut, code := sync(); code == 0 || !strings.Contains(errOut, "pre-switch") {
		t.Fatalf("sync with a failing pre-switch hook: exit %d %q, want the hook's failure", code, errOut)
	}
	got = events(t, rcv)[2:]
	if kinds(got) != "failed" {
		t.Fatalf("events after a failing pre-switch hook: got %s, want one failed", kinds(got))
	}
	f := got[0]
	oneLine(t, f)
	if f.Revision != rev3 || f.FromVersion != "1" || f.ToVersion != "3" || !strings.Contains(f.Detail, "migration FAILED: table locked") {
		t.Errorf("failed: %+v, want revision %.12s, 1 -> 3, the hook's output in detail", f, rev3)
	}
	if !answers(addr, "1") {
		t.Errorf("the app answers %q, want 1", testkit.Answer(addr))
	}
}
