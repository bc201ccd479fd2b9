package main

import (
	"io"
	"log/slog"
	"os/user"
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
