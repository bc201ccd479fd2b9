package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/restart"
)

// TestDemo runs the newcomer's first command for real: it must succeed
// with no failed request, and leave no app process behind.
func TestDemo(t *testing.T) {
	t.Parallel()
	ws := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	err := runDemo(context.Background(), &out, &errOut, ws, false)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"reconciler diff --ref next", "link      app.bin: release/app.1.0 -> release/app.2.0",
		"bump to 2.0", "serving 2.0", "roll back (git revert)", "serving 1.0", " 0 failed",
		"back on 1.0 after", `"crash_after" (1s)`, "not retried"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "deploy-repo", ".git")); err != nil {
		t.Errorf("the workspace should stay for a look: %v", err)
	}
	if pid := readPIDIfAny(filepath.Join(ws, "srv", "web")); pid != 0 {
		t.Errorf("the demo left its app running (pid %d)", pid)
	}
}

// readPIDIfAny is the pid of a live app process of dir, 0 if none.
func readPIDIfAny(dir string) int {
	procs, _ := restart.Finder{Dir: dir}.Find()
	for _, p := range procs {
		if procfs.Alive(p.PID) {
			return p.PID
		}
	}
	return 0
}
