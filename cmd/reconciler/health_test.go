package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncHealthBake wires --health-tcp, --health-cmd and --health-bake
// through sync: a release that passes every check and crashes two seconds
// after its start is switched back during the bake and recorded failed.
func TestSyncHealthBake(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	killApps(t, dir)
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(filepath.Join(dir, "check.sh"), []byte("#!/bin/sh\necho \"$RECONCILER_TO_VERSION\" >> "+envFile+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--health-tcp", addr, "--health-cmd", "./check.sh", "--health-bake", "6s", "--health-timeout", "5s"}
	d.releaseApp(t, "1", addr, nil)
	if out, errOut, code := runCLI(t, args...); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}
	bad := d.releaseApp(t, "2", addr, map[string]any{"crash_after": "2s"})
	_, errOut, code := runCLI(t, args...)
	if code != 1 || !strings.Contains(errOut, "switched back") || !strings.Contains(errOut, "--health-bake") {
		t.Fatalf("sync of a release that crashes: got exit %d %q, want it switched back during the bake", code, errOut)
	}
	assertSwitchedBack(t, dir, addr, "1", "exampleapp 1:", bad)
	if data, _ := os.ReadFile(envFile); !strings.Contains(string(data), "2\n") {
		t.Errorf("the health command saw versions %q, want it run for release 2", data)
	}
}
