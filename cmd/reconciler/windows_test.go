package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// denyNow returns a --deny-window that began at the start of the current
// minute (UTC) and ends left from now, and when it ends. It fires once a
// year, so it is no "window that never opens".
func denyNow(left time.Duration) (string, time.Time) {
	now := time.Now().UTC()
	start := now.Truncate(time.Minute)
	spec := fmt.Sprintf("CRON_TZ=UTC %d %d %d %d * %s", start.Minute(), start.Hour(), start.Day(), int(start.Month()), now.Sub(start)+left)
	return spec, now.Add(left)
}

// releaseFiles lists the release files in dir's release/.
func releaseFiles(dir string) []string {
	var out []string
	entries, _ := os.ReadDir(filepath.Join(dir, "release"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "app.") || strings.HasPrefix(e.Name(), "cfg.") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSyncOutsideWindows: a sync inside a deny window applies nothing,
// downloads nothing, exits non-zero naming when the windows open and
// --ignore-windows; status says so, and a receiver is told once per
// revision, however many syncs. With --ignore-windows it deploys.
func TestSyncOutsideWindows(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	rev1 := d.release("1.0")
	dir := t.TempDir()
	deny, ends := denyNow(time.Hour)
	rcv := newReceiver(t)
	args := func(extra ...string) []string {
		return syncArgs(d.URL(), dir, append([]string{"--deny-window", deny, "--notify-url", rcv.URL}, extra...)...)
	}

	runCLI(t, args()...) // told once, not at each sync
	_, errOut, code := runCLI(t, args()...)
	if code != 1 || !strings.Contains(errOut, "outside the deploy windows") || !strings.Contains(errOut, "--ignore-windows") ||
		!strings.Contains(errOut, ends.Format(time.RFC3339)) {
		t.Errorf("sync in a deny window: exit %d\n%s\nwant 1, saying outside the deploy windows, that they open at %s, and --ignore-windows", code, errOut, ends.Format(time.RFC3339))
	}
	if files, n := releaseFiles(dir), d.art.hitCount("/web-1.0"); len(files) != 0 || n != 0 {
		t.Errorf("release/ holds %v after %d requests; want nothing downloaded", files, n)
	}
	out, _, _ := runCLI(t, "status", "--dir", dir, "--json")
	var st reconcile.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Deferred == nil || st.Deferred.Version != "1.0" || st.Deferred.Revision != rev1 ||
		st.Deferred.Opens.Unix() != ends.Unix() || st.LastPoll.Result != reconcile.PollDeferred {
		t.Errorf("status --json: %v\n%s\nwant 1.0 at %s deferred until %s", err, out, rev1[:12], ends.Format(time.RFC3339))
	}
	if out, _, _ := runCLI(t, "status", "--dir", dir); !strings.Contains(out, "deferred:    version 1.0 at "+rev1[:12]) {
		t.Errorf("status:\n%s\nwant a deferred line", out)
	}

	out, errOut, code = runCLI(t, args("--ignore-windows")...)
	if code != 0 || !strings.Contains(out, "(applied)") || !strings.Contains(errOut, "deploying anyway, as --ignore-windows asks") {
		t.Fatalf("sync --ignore-windows: exit %d\n%s%s\nwant 0, applied, and a warning", code, out, errOut)
	}
	assertApplied(t, dir, "1.0", rev1)

	// An upgrade is held the same way; the release that runs stays.
	d.release("2.0")
	if _, errOut, code := runCLI(t, args()...); code != 1 || d.art.hitCount("/web-2.0") != 0 {
		t.Errorf("upgrade in a deny window: exit %d, %d requests\n%s\nwant 1, nothing downloaded", code, d.art.hitCount("/web-2.0"), errOut)
	}
	assertApplied(t, dir, "1.0", rev1)
	got := events(t, rcv)
	if kinds(got) != "deferred,applied,deferred" {
		t.Fatalf("events: got %s, want deferred (once for two syncs), applied, deferred", kinds(got))
	}
	if b := got[0]; b.ToVersion != "1.0" || b.Revision != rev1 ||
		!strings.Contains(b.Text, ": deferred 1.0: outside the deploy windows; they open at "+ends.Format(time.RFC3339)) {
		t.Errorf("deferred event: %+v, want 1.0 at %s, its text saying when the windows open", b, rev1[:12])
	}
	if b := got[2]; b.FromVersion != "1.0" || b.ToVersion != "2.0" {
		t.Errorf("second deferred event: %+v, want 1.0 -> 2.0", b)
	}
	if out, _, code := runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none", "--deny-window", deny); code != 1 ||
		!strings.HasPrefix(out, "blocked   outside the deploy windows: they open at "+ends.Format(time.RFC3339)) {
		t.Errorf("diff in a deny window: exit %d\n%s\nwant 1 and a first line saying it is blocked until %s", code, out, ends.Format(time.RFC3339))
	}
}

// TestWindowsBadInput: a bad window is a usage error naming the flag (or
// its variable), before anything is touched.
func TestWindowsBadInput(t *testing.T) { // not parallel: one case sets RECONCILER_WINDOW
	for _, tc := range []struct {
		name string
		env  string // RECONCILER_WINDOW
		args []string
		want string
	}{
		{"empty", "", []string{"--window", ""}, `for "--window" flag: empty`},
		{"no duration", "", []string{"--window", "0 9 * * 1-5"}, `the last field "1-5" is not a duration`},
		{"zero duration", "", []string{"--deny-window", "0 9 * * 1-5 0s"}, `for "--deny-window" flag: duration 0s: must be positive`},
		{"negative duration", "", []string{"--window", "0 9 * * 1-5 -8h"}, "must be positive"},
		{"bad schedule", "", []string{"--window", "0 25 * * * 1h"}, `for "--window" flag: schedule "0 25 * * *": `},
		{"unknown zone", "", []string{"--window", "CRON_TZ=Europe/Berln 0 9 * * * 8h"}, "CRON_TZ=Europe/Berln: unknown time zone"},
		{"never opens", "", []string{"--window", "0 0 30 2 * 1h"}, `--window "0 0 30 2 * 1h": never opens in the next year`},
		{"deny covers all", "", []string{"--window", "CRON_TZ=UTC 0 9 * * * 8h", "--deny-window", "CRON_TZ=UTC 0 0 * * * 24h"}, "--deny-window covers every --window"},
		{"from the environment", "0 9 * * * 8h; @every 1h 1m", nil, "RECONCILER_WINDOW=0 9 * * * 8h; @every 1h 1m: schedule \"@every 1h\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "app")
			args := append([]string{"sync", "--repo", "file:///nonexistent", "--dir", dir}, tc.args...)
			var stdout, stderr strings.Builder
			if tc.env != "" {
				t.Setenv("RECONCILER_WINDOW", tc.env)
			}
			code := exitcode.Print("reconciler", run(t.Context(), args, &stdout, &stderr), &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d\n%s\nwant 2 and %q", code, stderr.String(), tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("--dir was created (%v), want nothing touched", err)
			}
		})
	}
	// watch acts on a person's hand edits, which no window holds: it has
	// no window flags.
	if _, errOut, code := runCLI(t, "watch", "--dir", t.TempDir(), "--window", "0 9 * * * 8h"); code != 2 || !strings.Contains(errOut, "unknown flag: --window") {
		t.Errorf("watch --window: exit %d\n%s\nwant 2, unknown flag", code, errOut)
	}
}

// TestRunDeploysWhenWindowOpens: a real agent polling once an hour starts
// inside a deny window that ends seconds later: the start-up poll is
// deferred (metrics and /status say so), and the release is deployed when
// the window ends, without waiting for the next poll.
func TestRunDeploysWhenWindowOpens(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	rev := d.release("1.0")
	dir := t.TempDir()
	deny, ends := denyNow(5 * time.Second)
	listen := freeAddr(t)
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none",
		"--schedule", "@every 1h", "--listen", listen, "--log-format", "json", "--deny-window", deny)
	a.listen = listen
	waitFor(t, "the start-up poll to be deferred", func() bool {
		return strings.Contains(a.logs.String(), `"msg":"deferred: outside the deploy windows"`)
	})
	if time.Until(ends) > time.Second { // a machine too busy to get here in time cannot see the state
		if v := a.metric(t, "reconciler_deferred"); v != 1 {
			t.Errorf("reconciler_deferred %v while deferred, want 1", v)
		}
		if s := a.get(t, "/status"); !strings.Contains(s, `"deferred"`) {
			t.Errorf("GET /status while deferred:\n%s\nwant a deferred key", s)
		}
	}
	if files := releaseFiles(dir); len(files) != 0 && time.Now().Before(ends) {
		t.Errorf("release/ holds %v before the window opened, want nothing", files)
	}
	waitFor(t, "the deploy when the deny window ends", func() bool {
		return strings.Contains(a.logs.String(), `"msg":"applied"`)
	})
	if now := time.Now(); now.Before(ends) {
		t.Errorf("deployed at %s, before the deny window ended at %s", now.Format(time.RFC3339Nano), ends.Format(time.RFC3339Nano))
	}
	assertApplied(t, dir, "1.0", rev)
	waitFor(t, "reconciler_deferred to drop to 0", func() bool { return a.metric(t, "reconciler_deferred") == 0 })
}
