package restart

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// hookDir is an app directory with releases 1 and 2 (files only: a hook
// needs no running app) and app.cfg pointing at cfg.1.
func hookDir(t *testing.T) (dir string, to appdir.Target) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"app.1", "cfg.1", "app.2", "cfg.2"} {
		if err := os.MkdirAll(filepath.Join(dir, "release"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "release", f), []byte(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("release/cfg.1", filepath.Join(dir, "app.cfg")); err != nil {
		t.Fatal(err)
	}
	return dir, appdir.Target{Bin: filepath.Join(dir, "release", "app.2"), Cfg: filepath.Join(dir, "release", "cfg.2"),
		Revision: "89abcdef0123456789abcdef0123456789abcdef"}
}

// TestHook runs real scripts as hooks: each case's script is the hook's
// whole body; %T is a file of the case.
func TestHook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		timeout time.Duration
		stop    time.Duration // the agent stops (ctx ends) after this; 0: never
		want    []string      // in the error; none: it passes
		then    func(t *testing.T, file string, took time.Duration)
	}{
		{name: "exits 0", body: "echo migrated\nexit 0\n"},
		{name: "exits 1", body: "echo starting\necho the database says no >&2\nexit 1\n",
			want: []string{`pre-switch hook: "./check.sh --an-arg": exit status 1`, "the database says no", "hook-pre-switch.log"}},
		{name: "hangs", timeout: time.Second, body: "echo $$ >> %T\nsleep 300 &\necho $! >> %T\nwait\n",
			want: []string{"killed with its process group at --hook-timeout 1s"},
			then: func(t *testing.T, file string, took time.Duration) {
				if took > 4*time.Second {
					t.Errorf("the hook took %s to be killed, want about --hook-timeout 1s", took)
				}
				pidsDead(t, file) // the grandchild too
			}},
		{name: "agent stops", body: "echo $$ >> %T\nsleep 300 &\necho $! >> %T\nwait\n",
			stop: 500 * time.Millisecond,
			want: []string{"killed with its process group as the agent stopped"},
			then: func(t *testing.T, file string, _ time.Duration) { pidsDead(t, file) }},
		{name: "forks and exits 0", body: "sleep 300 &\necho $! > %T\nexit 0\n",
			then: func(t *testing.T, file string, took time.Duration) {
				if took > 4*time.Second {
					t.Errorf("the hook took %s, want no wait for the child it left", took)
				}
				pidsDead(t, file) // what a hook leaves in its group is killed
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, to := hookDir(t)
			file := filepath.Join(t.TempDir(), "pids")
			var logs testkit.SyncBuffer
			h := &Hook{Name: "pre-switch", Dir: dir, Cmd: script(t, dir, strings.ReplaceAll(tt.body, "%T", file)) + " --an-arg",
				Timeout: tt.timeout, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			ctx := t.Context()
			if tt.stop > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.stop)
				defer cancel()
			}
			start := time.Now()
			err := h.Run(ctx, filepath.Join(dir, "release", "app.1"), to)
			took := time.Since(start)
			switch {
			case len(tt.want) == 0 && err != nil:
				t.Fatalf("got %v, want the hook to pass", err)
			case len(tt.want) != 0 && err == nil:
				t.Fatalf("got no error, want one saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %v, want it to say %q", err, w)
				}
			}
			if msg := map[bool]string{true: `"msg":"hook ran"`, false: `"msg":"hook failed"`}[err == nil]; !strings.Contains(logs.String(), msg) ||
				!strings.Contains(logs.String(), `"hook":"pre-switch"`) {
				t.Errorf("log: got %s, want a line %s naming the hook", logs.String(), msg)
			}
			if tt.then != nil {
				tt.then(t, file, took)
			}
		})
	}
}

// TestHookEnv: the hook runs in the app directory with the switch in
// RECONCILER_* variables, the revision included.
func TestHookEnv(t *testing.T) {
	t.Parallel()
	dir, to := hookDir(t)
	envFile := filepath.Join(t.TempDir(), "env")
	h := &Hook{Name: "post-switch", Dir: dir, Cmd: script(t, dir, "env > "+envFile+"\npwd >> "+envFile+"\n")}
	if err := h.Run(t.Context(), filepath.Join(dir, "release", "app.1"), to); err != nil {
		t.Fatal(err)
	}
	wantLines(t, envFile, "RECONCILER_DIR="+dir, "RECONCILER_FROM_VERSION=1", "RECONCILER_TO_VERSION=2",
		"RECONCILER_REVISION="+to.Revision, "RECONCILER_BIN="+to.Bin, "RECONCILER_CFG="+to.Cfg,
		"PATH="+os.Getenv("PATH"), dir)

	// Without a config of its own, the release keeps the one app.cfg names.
	to.Cfg, to.Revision = "", ""
	if err := h.Run(t.Context(), "", to); err != nil {
		t.Fatal(err)
	}
	wantLines(t, envFile, "RECONCILER_FROM_VERSION=", "RECONCILER_REVISION=", "RECONCILER_CFG="+filepath.Join(dir, "release", "cfg.1"))
}

// wantLines fails unless every line of want is a whole line of file.
func wantLines(t *testing.T, file string, want ...string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			t.Errorf("%s: got\n%s\nwant a line %q", file, data, w)
		}
	}
}

// TestHookOutputBounded: all of a chatty hook's output is in its file; the
// log gets its last HookLogMax bytes, from a line's start, and the error its
// last lines.
func TestHookOutputBounded(t *testing.T) {
	t.Parallel()
	dir, to := hookDir(t)
	var logs testkit.SyncBuffer
	h := &Hook{Name: "pre-switch", Dir: dir, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Cmd: script(t, dir, "i=0\nwhile [ $i -lt 2000 ]; do echo \"line $i of the migration\"; i=$((i+1)); done\nexit 3\n")}
	err := h.Run(t.Context(), "", to)
	if err == nil || !strings.Contains(err.Error(), "line 1999 of the migration") || strings.Contains(err.Error(), "line 1994 ") {
		t.Errorf("got %v, want the last 5 lines quoted", err)
	}
	all, _ := os.ReadFile(appdir.HookOutput(dir, "pre-switch"))
	if !bytes.HasPrefix(all, []byte("line 0 of")) || !bytes.HasSuffix(all, []byte("line 1999 of the migration\n")) {
		t.Errorf("the output file holds %d bytes, want all of the output", len(all))
	}
	var entry struct{ Msg, Output string }
	if err := json.Unmarshal([]byte(logs.String()), &entry); err != nil || entry.Msg != "hook failed" {
		t.Fatalf("log: got %s (%v), want one line: hook failed", logs.String(), err)
	}
	if out := entry.Output; len(out) > HookLogMax || !strings.HasPrefix(out, "…\nline ") || !strings.HasSuffix(out, "\nline 1999 of the migration") {
		t.Errorf("log: got %d bytes of output, %.40q … %q, want at most %d from a line's start to the last line",
			len(out), out, out[max(len(out)-40, 0):], HookLogMax)
	}
}
