package agentdir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestStartSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "web.env")
	if err := os.WriteFile(file, []byte("RECONCILER_AGENT_PATH=agents/web.json\nRECONCILER_AGENT_DIR=/file/agent\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what      string
		args, env []string
		want      settings
	}{
		{"off", []string{"reconciler", "run"}, nil, settings{dir: "/var/lib/reconciler/agent"}},
		{"flags", []string{"reconciler", "run", "--agent-path", "a.json", "--agent-dir=/x", "--log-format", "text"}, nil, settings{path: "a.json", dir: "/x", logFormat: "text"}},
		{"environment", []string{"reconciler", "run"}, []string{"RECONCILER_AGENT_PATH=e.json", "STATE_DIRECTORY=/var/lib/reconciler/web"}, settings{path: "e.json", dir: "/var/lib/reconciler/web/agent"}},
		{"env file over environment", []string{"reconciler", "run", "--env-file", file}, []string{"RECONCILER_AGENT_PATH=e.json", "RECONCILER_AGENT_DIR=/env"}, settings{path: "agents/web.json", dir: "/file/agent"}},
		{"flag over env file", []string{"reconciler", "run", "--env-file=" + file, "--agent-dir", "/flag"}, nil, settings{path: "agents/web.json", dir: "/flag"}},
		{"env file from the environment", []string{"reconciler", "run"}, []string{"RECONCILER_ENV_FILE=" + file}, settings{path: "agents/web.json", dir: "/file/agent"}},
		{"after --", []string{"reconciler", "run", "--", "--agent-path", "x"}, nil, settings{dir: "/var/lib/reconciler/agent"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			got, err := startSettings(tc.args, tc.env)
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := startSettings([]string{"reconciler", "run", "--env-file", file + ".missing"}, nil); err == nil {
		t.Error("missing env file: got nil")
	}
}

func TestIsRun(t *testing.T) {
	for args, want := range map[string]bool{
		"reconciler run --dir x":        true,
		"reconciler --env-file f run":   false, // a value is the first word: not run (cobra has no root flags)
		"reconciler sync --dir x":       false,
		"reconciler":                    false,
		"reconciler -- run":             false,
		"reconciler version":            false,
		"reconciler --log-format=x run": true,
	} {
		if got := isRun(strings.Fields(args)); got != want {
			t.Errorf("%s: got %v, want %v", args, got, want)
		}
	}
}

// TestExecChosen: the exec gets the chosen path, the args as they are and
// the environment plus the marker (replacing one inherited), after the
// start was counted; a failed exec leaves this binary to run.
func TestExecChosen(t *testing.T) {
	d := openDir(t)
	confirmed(t, d, "1", "2")
	args := []string{"/usr/bin/reconciler", "run", "--dir", "/srv/web"}
	env := []string{"RECONCILER_AGENT_PATH=agent.json", "RECONCILER_AGENT_DIR=" + d.Path(), "KEEP=1", ChosenEnv + "="}
	var gotPath string
	var gotArgs, gotEnv []string
	var log strings.Builder
	execChosen(args, env, &log, func(p string, a, e []string) error {
		gotPath, gotArgs, gotEnv = p, a, e
		return errors.New("exec format error")
	})
	if want, _ := d.VersionPath("2"); gotPath != want {
		t.Errorf("path: got %s, want %s", gotPath, want)
	}
	if !slices.Equal(gotArgs, args) {
		t.Errorf("args: got %v, want %v", gotArgs, args)
	}
	if want := []string{"RECONCILER_AGENT_PATH=agent.json", "RECONCILER_AGENT_DIR=" + d.Path(), "KEEP=1", ChosenEnv + "=2"}; !slices.Equal(gotEnv, want) {
		t.Errorf("env: got %v, want %v", gotEnv, want)
	}
	if r := record(t, d); r.Starts != (Starts{Version: "2", Count: 1}) {
		t.Errorf("starts: got %+v, want 2 once (counted before the exec)", r.Starts)
	}
	if !strings.Contains(log.String(), "exec format error") {
		t.Errorf("the failed exec is not logged: %s", log.String())
	}
}
