package main

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSyncDiskFull runs the app dir on a small tmpfs: a download that does
// not fit fails with a clear error, leaves nothing behind, and the sync
// succeeds once there is room. It needs CAP_SYS_ADMIN (root in CI).
func TestSyncDiskFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); the disk-full case needs root", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })

	d := newDeployRepo(t)
	rev1 := d.release("1.0")
	mustSync(t, d.URL(), dir)
	before := snapshot(t, dir, ".reconciler")

	big := []byte("#!/bin/sh\n" + strings.Repeat("B", 2<<20))
	url, sum := d.art.put("/web-big", big)
	d.commitDesired(fmt.Sprintf(`{"version":"2.0","bin":{"url":%q,"sha256":%q}}`, url, sum))
	_, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...)
	if code != 1 || !strings.Contains(errOut, "disk full") || !strings.Contains(errOut, "/web-big") {
		t.Fatalf("got exit %d %q, want a disk-full error naming the URL", code, errOut)
	}
	if after := snapshot(t, dir, ".reconciler"); after != before {
		t.Errorf("the directory changed:\n%s\nwant:\n%s", after, before)
	}
	assertApplied(t, dir, "1.0", rev1)

	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, "size=8m"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, d.URL(), dir)
	if v := readConf(t, dir)["version"]; v != "2.0" {
		t.Errorf("after making room: got version %s, want 2.0", v)
	}
}
