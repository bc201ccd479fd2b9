package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// TestAppUser: --app-user (RECONCILER_APP_USER) names the user the app the
// agent starts runs as; an unknown one is a usage error naming the flag;
// the switcher gets its uid, gid and groups.
func TestAppUser(t *testing.T) {
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	cmd, c, _ := runCommand(io.Discard)
	cmd.SetArgs(nil)
	for k, v := range map[string]string{"repo": "file:///x", "dir": t.TempDir(), "app-user": "nobody"} {
		if err := cmd.Flags().Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := setup(cmd, c, true); err != nil {
		t.Fatalf("setup --app-user nobody: %v", err)
	}
	sw := newSwitcher(c, reconcile.Layout{Dir: c.Dir}, slog.New(slog.DiscardHandler))
	if sw.AppCred == nil || strconv.Itoa(int(sw.AppCred.Uid)) != u.Uid || strconv.Itoa(int(sw.AppCred.Gid)) != u.Gid {
		t.Fatalf("switcher's AppCred: got %+v, want uid %s gid %s", sw.AppCred, u.Uid, u.Gid)
	}

	t.Setenv("RECONCILER_APP_USER", "no-such-user-zz")
	cmd, c, _ = runCommand(io.Discard)
	_ = cmd.Flags().Set("repo", "file:///x")
	_ = cmd.Flags().Set("dir", t.TempDir())
	err = setup(cmd, c, true)
	if err == nil || !strings.Contains(err.Error(), "--app-user no-such-user-zz") {
		t.Errorf("an unknown user: got %v, want an error naming --app-user", err)
	}

	cmd, c, _ = runCommand(io.Discard)
	t.Setenv("RECONCILER_APP_USER", "")
	_ = cmd.Flags().Set("repo", "file:///x")
	_ = cmd.Flags().Set("dir", t.TempDir())
	if err := setup(cmd, c, true); err != nil || newSwitcher(c, reconcile.Layout{Dir: c.Dir}, slog.New(slog.DiscardHandler)).AppCred != nil {
		t.Errorf("without --app-user: err %v, want none and the agent's own user", err)
	}
}

// TestSyncStartsAppAsAppUser: sync with --app-user starts the real example
// app as that user (root only: CI runs as root), and it serves.
func TestSyncStartsAppAsAppUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("starting an app as another user needs root (CI runs as root)")
	}
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	// The app's user enters its directory, and reads the config (0640)
	// through the directory's group: root:nogroup, setgid, as the README
	// says to make it.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o750|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	killApps(t, dir)
	d.releaseApp(t, "1", addr, nil)
	args := []string{"sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--health-tcp", addr, "--health-timeout", "10s", "--app-user", "nobody"}
	if out, errOut, code := runCLI(t, args...); code != 0 {
		t.Fatalf("sync --app-user nobody: exit %d\n%s%s", code, out, errOut)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", readPID(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] != "65534" {
			t.Errorf("the app runs as %q, want uid 65534 (nobody)", line)
		}
	}
}
