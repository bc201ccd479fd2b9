package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// newReceiver is a recording notification receiver, closed when the test
// ends.
func newReceiver(t *testing.T) *testkit.Receiver {
	r := testkit.NewReceiver()
	t.Cleanup(r.Close)
	return r
}

// events decodes the bodies a receiver accepted.
func events(t *testing.T, r *testkit.Receiver) []notify.Body {
	t.Helper()
	var out []notify.Body
	for _, q := range r.Delivered() {
		var b notify.Body
		if err := json.Unmarshal(q.Body, &b); err != nil {
			t.Fatalf("body %q: %v", q.Body, err)
		}
		out = append(out, b)
	}
	return out
}

func kinds(bs []notify.Body) string {
	var k []string
	for _, b := range bs {
		k = append(k, b.Event)
	}
	return strings.Join(k, ",")
}

// TestSyncNotifies: real syncs of the example app tell a receiver of each
// switch (versions, revision, host, dir, signed), and of a bad commit once
// over three syncs; a sync with nothing new tells nothing.
func TestSyncNotifies(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr, dir := freeAddr(t), t.TempDir()
	killApps(t, dir)
	rcv := newReceiver(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("n0tify-s3cret\n"), 0o600) // the newline is trimmed
	sync := func() (string, int) {
		_, errOut, code := runCLI(t, "sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
			"--health-url", "http://"+addr+"/healthz", "--health-timeout", "10s", "--log-format", "json",
			"--notify-url", rcv.URL+"/hooks/T0/s3cr3tt0ken", "--notify-secret-file", secretFile)
		return errOut, code
	}
	rev1 := d.releaseApp(t, "1", addr, nil)
	if errOut, code := sync(); code != 0 {
		t.Fatalf("sync of 1: exit %d\n%s", code, errOut)
	}
	rev2 := d.releaseApp(t, "2", addr, nil)
	if errOut, code := sync(); code != 0 {
		t.Fatalf("sync of 2: exit %d\n%s", code, errOut)
	}
	sync() // nothing new
	got := events(t, rcv)
	if kinds(got) != "applied,applied" {
		t.Fatalf("events after two bumps and an idle sync: got %s, want applied,applied", kinds(got))
	}
	host, _ := os.Hostname()
	for i, want := range []notify.Body{
		{Event: "applied", Host: host, Dir: dir, ToVersion: "1", Revision: rev1, Text: host + " " + dir + ": 1 applied"},
		{Event: "applied", Host: host, Dir: dir, FromVersion: "1", ToVersion: "2", Revision: rev2, Text: host + " " + dir + ": 1 -> 2 applied"},
	} {
		want.Time = got[i].Time
		if got[i] != want {
			t.Errorf("event %d:\ngot  %+v\nwant %+v", i, got[i], want)
		}
	}
	for _, q := range rcv.Delivered() {
		mac := hmac.New(sha256.New, []byte("n0tify-s3cret"))
		mac.Write(q.Body)
		if sig := q.Header.Get("X-Reconciler-Signature-256"); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("signature %q: not the HMAC of the body under the trimmed secret", sig)
		}
	}

	bad := d.commitDesired(`{"version": "3"}`)
	for range 3 {
		if errOut, code := sync(); code != 1 || !strings.Contains(errOut, `"bin" is required`) {
			t.Fatalf("sync of a bad commit: exit %d %q, want an error", code, errOut)
		}
	}
	got = events(t, rcv)[2:]
	if kinds(got) != "failed" {
		t.Fatalf("events after three syncs of a bad commit: got %s, want one failed", kinds(got))
	}
	if f := got[0]; f.Revision != bad || f.FromVersion != "2" || !strings.Contains(f.Error, `"bin" is required`) {
		t.Errorf("failed event: %+v, want revision %s, from 2 and the error", f, bad[:12])
	}
	if !answers(addr, "2") {
		t.Errorf("after the bad commit the app answers %q, want 2", testkit.Answer(addr))
	}
}

func answers(addr, v string) bool {
	return strings.HasPrefix(testkit.Answer(addr), "exampleapp "+v+":")
}

// TestSyncStalledReceiver: a receiver that never answers does not stop
// sync from switching and finishing; the other receiver gets its event and
// the stalled one's is dropped with a log line that shows no token.
func TestSyncStalledReceiver(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr, dir := freeAddr(t), t.TempDir()
	killApps(t, dir)
	stalled := testkit.NewStallingReceiver()
	t.Cleanup(stalled.Close)
	rcv := newReceiver(t)
	d.releaseApp(t, "1", addr, nil)
	out, errOut, code := runCLI(t, "sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--health-url", "http://"+addr+"/healthz", "--health-timeout", "10s", "--log-format", "json",
		"--notify-url", stalled.URL+"/hooks/s3cr3tt0ken", "--notify-url", rcv.URL)
	if code != 0 || !strings.Contains(out, "(applied)") {
		t.Fatalf("sync with a stalled receiver: exit %d\n%s%s", code, out, errOut)
	}
	if !answers(addr, "1") {
		t.Errorf("the app answers %q, want 1", testkit.Answer(addr))
	}
	if kinds(events(t, rcv)) != "applied" {
		t.Errorf("the answering receiver got %q, want applied", kinds(events(t, rcv)))
	}
	if len(stalled.Requests()) == 0 || !strings.Contains(errOut, "notification dropped") {
		t.Errorf("stalled receiver: %d requests, logs %q; want a request, dropped with a log line", len(stalled.Requests()), errOut)
	}
	if strings.Contains(errOut, "s3cr3tt0ken") {
		t.Errorf("the log shows the receiver's token:\n%s", errOut)
	}
}

// TestAgentNotifiesFailedOnce: an agent polling a bad commit every second
// tells it once, not at every poll, and counts what it sent.
func TestAgentNotifiesFailedOnce(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	a := startAgentOn1(t, "--notify-url", rcv.URL)
	waitFor(t, "applied 1 to be delivered", func() bool { return kinds(events(t, rcv)) == "applied" })
	a.d.commitDesired(`{"version": "2", "bin": {`)
	waitFor(t, "three polls of the bad commit, and its failed event", func() bool {
		st := a.status(t)
		return st.LastError != nil && st.LastError.Passes >= 3 && len(events(t, rcv)) >= 2
	})
	if k := kinds(events(t, rcv)); k != "applied,failed" {
		t.Errorf("events: got %s, want applied,failed (once over several polls)", k)
	}
	waitFor(t, `reconciler_notifications_total{result="sent"} 2`, func() bool {
		return a.metric(t, `reconciler_notifications_total{result="sent"}`) == 2
	})
}

// TestNotifyURLFromEnv: RECONCILER_NOTIFY_URL may hold several URLs
// separated by spaces; each gets the event.
func TestNotifyURLFromEnv(t *testing.T) {
	a, b := newReceiver(t), newReceiver(t)
	d := newDeployRepo(t)
	d.commitDesired(`{"version": "1"}`)
	t.Setenv("RECONCILER_NOTIFY_URL", a.URL+" "+b.URL+"/x,y")
	if _, _, code := runCLI(t, syncArgs(d.URL(), t.TempDir())...); code != 1 {
		t.Fatalf("sync of a bad commit: exit %d, want 1", code)
	}
	if kinds(events(t, a)) != "failed" || kinds(events(t, b)) != "failed" {
		t.Errorf("events: got %q and %q, want failed at both URLs", kinds(events(t, a)), kinds(events(t, b)))
	}
}

// TestNotifyBadInput: a bad --notify-url or --notify-secret-file is a
// usage error naming the flag, before the directory is touched, and never
// shows a URL's credentials.
func TestNotifyBadInput(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	unreadable := filepath.Join(tmp, "unreadable")
	os.Mkdir(unreadable, 0o700) // a directory: reading it fails, also as root
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--notify-url", "ftp://user:pa55word@example.com/hook"}, "--notify-url ftp://xxxxx@example.com/…: want an http"},
		{[]string{"--notify-url", "https:///hooks/s3cr3tt0ken"}, "--notify-url https:///…: want an http"},
		{[]string{"--notify-url", "hooks.example.com/s3cr3tt0ken"}, "--notify-url hooks.example.com/…"},
		{[]string{"--notify-url", "http://ok.example.com https://"}, "--notify-url https://: want"},
		{[]string{"--notify-secret-file", filepath.Join(tmp, "missing")}, "--notify-secret-file: open " + filepath.Join(tmp, "missing")},
		{[]string{"--notify-secret-file", empty}, "--notify-secret-file: the file is empty"},
		{[]string{"--notify-secret-file", unreadable}, "--notify-secret-file: read " + unreadable},
	} {
		for _, cmd := range []string{"sync", "run", "watch"} {
			dir := filepath.Join(tmp, "app-"+cmd)
			args := append([]string{cmd, "--repo", "file:///nowhere", "--dir", dir}, tc.args...)
			if cmd == "watch" {
				args = append([]string{cmd, "--dir", dir}, tc.args...)
			}
			_, errOut, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("%s %v: got exit %d %q, want 2 and %q", cmd, tc.args, code, errOut, tc.want)
			}
			for _, secret := range []string{"pa55word", "s3cr3tt0ken"} {
				if strings.Contains(errOut, secret) {
					t.Errorf("%s %v: the error shows %q: %s", cmd, tc.args, secret, errOut)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s %v: %s was created (%v)", cmd, tc.args, dir, err)
			}
		}
	}
}
