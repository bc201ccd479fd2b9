package agentdir

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/restart"
)

func pick(t *testing.T, d *Dir) (Choice, bool) {
	t.Helper()
	c, ok, err := d.Choose()
	if err != nil {
		t.Fatal(err)
	}
	return c, ok
}

func TestChooseNewestConfirmed(t *testing.T) {
	d := openDir(t)
	if _, ok := pick(t, d); ok {
		t.Fatal("empty dir: got a choice")
	}
	install(t, d, "9", script("echo 9")) // installed, never confirmed
	if c, ok := pick(t, d); ok {
		t.Fatalf("nothing confirmed: got %s", c.Version)
	}
	confirmed(t, d, "1", "2")
	c, ok := pick(t, d)
	if !ok || c.Version != "2" || !strings.HasSuffix(c.Path, "/versions/2/reconciler") {
		t.Fatalf("got %+v, want version 2", c)
	}
	// git revert of the agent file: 1 is handed to and confirmed again,
	// without a download, and is the newest now.
	if err := d.Confirm("1"); err != nil {
		t.Fatal(err)
	}
	if c, _ := pick(t, d); c.Version != "1" {
		t.Errorf("after confirming 1 again: got %s, want 1", c.Version)
	}
	if err := d.Confirm("7"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("confirm of a version not installed: got %v, want ErrNotInstalled", err)
	}
}

// TestChoosePassesOverAfterMaxStarts: a confirmed version started 3 times
// in a row without a good poll is passed over for the previous one, and
// never chosen again until it is confirmed anew.
func TestChoosePassesOverAfterMaxStarts(t *testing.T) {
	d := openDir(t)
	confirmed(t, d, "1", "2")
	for i := 1; i <= MaxStarts; i++ {
		c, _ := pick(t, d)
		if c.Version != "2" {
			t.Fatalf("start %d: got %s, want 2", i, c.Version)
		}
		if err := d.Started("2"); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := pick(t, d)
	if c.Version != "1" || len(c.Skipped) != 1 || !errors.Is(c.Skipped[0].Err, ErrTooManyStarts) {
		t.Fatalf("after %d starts: got %+v, want 1 with 2 skipped", MaxStarts, c)
	}
	f, failed, err := d.Failed("2")
	if err != nil || !failed || !strings.Contains(f.Reason, "3 times in a row") {
		t.Errorf("2 recorded failed: got %+v %v %v", f, failed, err)
	}
	if err := d.Started("1"); err != nil { // 1 starts: the counter is its now
		t.Fatal(err)
	}
	if c, _ := pick(t, d); c.Version != "1" {
		t.Errorf("next start: got %s, want 1 (2 stays passed over)", c.Version)
	}
	// A good poll resets the count: a healthy version is never passed over.
	for i := 0; i < 2*MaxStarts; i++ {
		if err := d.Started("1"); err != nil {
			t.Fatal(err)
		}
		if err := d.GoodPoll("1"); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := pick(t, d); c.Version != "1" {
		t.Errorf("with good polls: got %s, want 1", c.Version)
	}
	// Confirmed anew (a handover to 2 after retry): chosen again.
	if _, err := d.Retry(); err != nil {
		t.Fatal(err)
	}
	if err := d.Confirm("2"); err != nil {
		t.Fatal(err)
	}
	if c, _ := pick(t, d); c.Version != "2" {
		t.Errorf("2 confirmed anew: got %s, want 2", c.Version)
	}
}

// otherArch rewrites the ELF machine of a copy of this test binary: a real
// ELF file built for another machine.
func otherArch(t *testing.T) []byte {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	m := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		m = elf.EM_X86_64
	}
	binary.LittleEndian.PutUint16(b[18:], uint16(m)) // e_machine
	return b
}

func TestChooseSkipsBrokenVersions(t *testing.T) {
	for _, tc := range []struct {
		what   string
		break_ func(t *testing.T, d *Dir, path string)
		want   error  // errors.Is, when not nil
		words  string // in the reason
		failed bool   // recorded failed (a missing file is only unconfirmed)
	}{
		{"missing", func(t *testing.T, d *Dir, p string) { os.RemoveAll(strings.TrimSuffix(p, "/reconciler")) }, nil, "is missing", false},
		{"changed bytes", func(t *testing.T, d *Dir, p string) { os.WriteFile(p, script("echo evil"), 0o755) }, artifacts.ErrDigestMismatch, "confirmed with", true},
		{"not executable", func(t *testing.T, d *Dir, p string) { os.Chmod(p, 0o644) }, restart.ErrNotExecutable, "no exec bit", true},
		{"another architecture", nil, restart.ErrNotExecutable, "built for", true},
	} {
		t.Run(tc.what, func(t *testing.T) {
			d := openDir(t)
			confirmed(t, d, "1")
			if tc.break_ == nil {
				b := otherArch(t)
				install(t, d, "2", b)
				if err := d.Confirm("2"); err != nil {
					t.Fatal(err)
				}
			} else {
				confirmed(t, d, "2")
				p, _ := d.VersionPath("2")
				tc.break_(t, d, p)
			}
			c, ok := pick(t, d)
			if !ok || c.Version != "1" || len(c.Skipped) != 1 || c.Skipped[0].Version != "2" {
				t.Fatalf("got %+v, want 1 with 2 skipped", c)
			}
			why := c.Skipped[0].Err
			if tc.want != nil && !errors.Is(why, tc.want) || !strings.Contains(why.Error(), tc.words) {
				t.Errorf("reason: got %v, want %v saying %q", why, tc.want, tc.words)
			}
			if _, failed, _ := d.Failed("2"); failed != tc.failed {
				t.Errorf("2 recorded failed: got %v, want %v", failed, tc.failed)
			}
			if got := confirmedVersions(t, d); !slices.Equal(got, []string{"1"}) {
				t.Errorf("confirmed: got %v, want [1]", got)
			}
		})
	}
}

func TestNamedForgetsOtherFailures(t *testing.T) {
	d := openDir(t)
	for _, step := range []struct {
		named, fail string
		want        []string // failed versions after the step
	}{
		{named: "2", fail: "2", want: []string{"2"}},
		{named: "2", want: []string{"2"}}, // the next poll: 2 stays failed
		{named: "3", want: nil},           // another version: 2 may be tried again
		{named: "3", fail: "3", want: []string{"3"}},
		{named: "2", want: nil},
	} {
		if err := d.Named(step.named); err != nil {
			t.Fatal(err)
		}
		if step.fail != "" {
			if err := d.Fail(step.fail, "exits at once"); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for v := range record(t, d).Failed {
			got = append(got, v)
		}
		slices.Sort(got)
		if !slices.Equal(got, step.want) {
			t.Errorf("named %s: failed %v, want %v", step.named, got, step.want)
		}
	}
}

func TestRetryForgetsFailuresAndStarts(t *testing.T) {
	d := openDir(t)
	confirmed(t, d, "1")
	for _, v := range []string{"2", "3"} {
		if err := d.Fail(v, "refused the flags"); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Started("1"); err != nil {
		t.Fatal(err)
	}
	forgot, err := d.Retry()
	if err != nil {
		t.Fatal(err)
	}
	if len(forgot) != 2 || forgot["2"].Reason != "refused the flags" {
		t.Errorf("forgot %v, want 2 and 3", forgot)
	}
	r := record(t, d)
	if len(r.Failed) != 0 || r.Starts.Count != 0 {
		t.Errorf("after retry: failed %v, starts %+v", r.Failed, r.Starts)
	}
	if forgot, _ := d.Retry(); len(forgot) != 0 {
		t.Errorf("second retry forgot %v", forgot)
	}
}

func TestPruneKeepsThree(t *testing.T) {
	d := openDir(t)
	confirmed(t, d, "1", "2", "3", "4", "5")
	install(t, d, "6", script("echo 6"))        // being handed to
	install(t, d, "7", script("echo 7"))        // failed, not kept
	os.MkdirAll(d.Path()+"/versions/.x", 0o700) // no version: left alone
	if err := d.Fail("7", "hangs"); err != nil {
		t.Fatal(err)
	}
	removed, err := d.Prune("1", "6") // 1 runs, 6 is being handed to
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, []string{"2", "7"}) {
		t.Errorf("removed %v, want [2 7]", removed)
	}
	for _, v := range []string{"1", "3", "4", "5", "6"} {
		mustExist(t, d.Path()+"/versions/"+v+"/reconciler", true)
	}
	mustExist(t, d.Path()+"/versions/2", false)
	mustExist(t, d.Path()+"/versions/.x", true)
	if got := confirmedVersions(t, d); !slices.Equal(got, []string{"1", "3", "4", "5"}) {
		t.Errorf("confirmed: got %v", got)
	}
	if _, err := d.Prune("6"); err != nil { // 1 no longer runs
		t.Fatal(err)
	}
	mustExist(t, d.Path()+"/versions/1", false)
	if got := confirmedVersions(t, d); !slices.Equal(got, []string{"3", "4", "5"}) {
		t.Errorf("confirmed: got %v", got)
	}
}

func TestStateUnreadable(t *testing.T) {
	d := openDir(t)
	if err := os.WriteFile(d.stateFile(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.Choose()
	if err == nil || !strings.Contains(err.Error(), d.stateFile()) {
		t.Errorf("got %v, want an error naming %s", err, d.stateFile())
	}
	if err := d.Confirm("1"); err == nil {
		t.Error("Confirm on an unreadable record: got nil")
	}
	if b, _ := os.ReadFile(d.stateFile()); string(b) != "{not json" {
		t.Errorf("the unreadable record was overwritten: %q", b)
	}
}
