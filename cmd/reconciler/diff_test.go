package main

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	diffArgs := func(extra ...string) []string {
		return append([]string{"diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none"}, extra...)
	}

	// Nothing applied yet: everything differs, and diff writes nothing.
	before := snapshot(t, dir)
	out, errOut, code := runCLI(t, diffArgs()...)
	if code != 1 {
		t.Fatalf("first diff: got exit %d, want 1\n%s%s", code, out, errOut)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("diff wrote in --dir:\n%s", after)
	}

	mustSync(t, d.URL(), dir)
	if out, errOut, code := runCLI(t, diffArgs()...); code != 0 || !strings.Contains(out, "in sync") {
		t.Fatalf("diff after sync: got exit %d, want 0\n%s%s", code, out, errOut)
	}

	rev2 := d.release("2.0")
	before = snapshot(t, dir)
	out, errOut, code = runCLI(t, diffArgs()...)
	if code != 1 {
		t.Fatalf("diff with a bump: got exit %d, want 1\n%s%s", code, out, errOut)
	}
	url, sum := d.art.URL+"/web-2.0", sha(binary("2.0"))
	for _, want := range []string{
		"version   1.0 -> 2.0",
		"-> " + rev2[:12],
		"fetch     bin " + url + " sha256:" + sum + " -> release/app.2.0",
		"install   cfg web/cfg-2.0.json@" + rev2[:12],
		"-> release/cfg.2.0",
		"write     release/current.conf",
		"link      app.bin: release/app.1.0 -> release/app.2.0",
		"link      app.cfg: release/cfg.1.0 -> release/cfg.2.0",
		"process   ",
		"--- release/cfg.1.0", "+++ release/cfg.2.0",
		`-  "version": "1.0"`, `+  "version": "2.0"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("diff changed --dir:\n%s\nwant:\n%s", after, before)
	}
	if n := d.art.hitCount("/web-2.0"); n != 0 {
		t.Errorf("diff downloaded the artifact (%d requests), want none", n)
	}

	// An error is exit 2, not 1.
	d.commitDesired(`{"version": 1}`)
	if _, errOut, code := runCLI(t, diffArgs()...); code != 2 || !strings.Contains(errOut, "web/current.conf") {
		t.Errorf("diff of a broken desired file: got exit %d %q, want 2 naming the file", code, errOut)
	}
	if _, _, code := runCLI(t, diffArgs("--ref", "nope")...); code != 2 {
		t.Errorf("diff of a missing ref: got exit %d, want 2", code)
	}
}

// TestDiffSaysWhenSyncIsBlocked: when sync would apply nothing (the
// revision failed before, or the directory is suspended), diff still
// prints the plan, led by a line that says why.
func TestDiffSaysWhenSyncIsBlocked(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)
	diffArgs := []string{"diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none"}

	rev2 := d.release("2.0")
	if _, errOut, code := runCLI(t, "suspend", "--dir", dir, "--reason", "db maintenance"); code != 0 {
		t.Fatalf("suspend: exit %d %s", code, errOut)
	}
	out, _, code := runCLI(t, diffArgs...)
	if code != 1 || !strings.HasPrefix(out, "blocked   suspended: db maintenance") || !strings.Contains(out, "version   1.0 -> 2.0") {
		t.Errorf("diff while suspended: exit %d\n%s\nwant exit 1, a first line `blocked   suspended: db maintenance` and the plan", code, out)
	}
	if _, errOut, code := runCLI(t, "resume", "--dir", dir); code != 0 {
		t.Fatalf("resume: exit %d %s", code, errOut)
	}

	// A release whose binary exits at once is rolled back and recorded failed.
	if _, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--restart", "restart", "--health-timeout", "3s")...); code != 1 {
		t.Fatalf("sync of a binary that exits at once: exit 0, want a failure\n%s", errOut)
	}
	out, _, code = runCLI(t, diffArgs...)
	if want := "blocked   revision " + rev2[:12] + " failed before: "; code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("diff of a failed revision: exit %d\n%s\nwant exit 1 and a first line %q", code, out, want)
	}
	if !strings.Contains(out, "version   ") {
		t.Errorf("diff of a failed revision prints no plan:\n%s", out)
	}
}

// TestDiffAfterRetry: once `reconciler retry` asked (no agent runs), the
// next sync applies the failed revision again, so diff says it would, and
// leaves the request for that sync.
func TestDiffAfterRetry(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)
	d.release("2.0")
	if _, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--restart", "restart", "--health-timeout", "3s")...); code != 1 {
		t.Fatalf("sync of a binary that exits at once: exit %d, want a failure\n%s", code, errOut)
	}
	if out, errOut, code := runCLI(t, "retry", "--dir", dir); code != 0 {
		t.Fatalf("retry: exit %d\n%s%s", code, out, errOut)
	}
	diffArgs := []string{"diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none"}
	for i := range 2 { // the request stays for the sync
		out, errOut, code := runCLI(t, diffArgs...)
		if code != 1 || strings.Contains(out, "blocked") || !strings.Contains(out, "version   1.0 -> 2.0") {
			t.Errorf("diff %d after retry: exit %d\n%s%s\nwant exit 1 and the plan to 2.0, not blocked", i+1, code, out, errOut)
		}
	}
	if _, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--restart", "none")...); code != 0 {
		t.Errorf("sync after retry: exit %d, want 2.0 applied\n%s", code, errOut)
	}
}
