package main

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEnvErrorNamesVariable: a bad value from RECONCILER_<FLAG> is reported
// as that variable and its value, never as the flag it was not given as; a
// bad flag is reported as the flag.
func TestEnvErrorNamesVariable(t *testing.T) {
	dir := t.TempDir()
	repo := "file://" + filepath.Join(dir, "no-repo")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    string // a line of stderr
		notWant string
	}{
		{"log format from env, sync", map[string]string{"RECONCILER_LOG_FORMAT": "yaml"},
			[]string{"sync", "--repo", repo, "--dir", dir},
			"reconciler: RECONCILER_LOG_FORMAT=yaml: want text or json\n", "--log-format"},
		{"log format from env, diff", map[string]string{"RECONCILER_LOG_FORMAT": "yaml"},
			[]string{"diff", "--repo", repo, "--dir", dir},
			"reconciler: RECONCILER_LOG_FORMAT=yaml: want text or json\n", "--log-format"},
		{"log format from env, run", map[string]string{"RECONCILER_LOG_FORMAT": "yaml"},
			[]string{"run", "--repo", repo, "--dir", dir},
			"reconciler: RECONCILER_LOG_FORMAT=yaml: want text or json\n", "--log-format"},
		{"log format from env, watch", map[string]string{"RECONCILER_LOG_FORMAT": "yaml"},
			[]string{"watch", "--dir", dir},
			"reconciler: RECONCILER_LOG_FORMAT=yaml: want text or json\n", "--log-format"},
		{"log format flag", nil,
			[]string{"sync", "--repo", repo, "--dir", dir, "--log-format", "yaml"},
			"reconciler: invalid argument \"yaml\" for \"--log-format\" flag: want text or json\n", "RECONCILER_"},
		{"int from env", map[string]string{"RECONCILER_KEEP": "many"},
			[]string{"sync", "--repo", repo, "--dir", dir},
			"reconciler: RECONCILER_KEEP=many: ", "--keep"},
		{"duration from env", map[string]string{"RECONCILER_HEALTH_TIMEOUT": "30"},
			[]string{"sync", "--repo", repo, "--dir", dir},
			"reconciler: RECONCILER_HEALTH_TIMEOUT=30: ", "--health-timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			out, errOut, code := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, tc.notWant) {
				t.Errorf("got exit %d, stderr %q; want exit 2, stderr with %q and without %q", code, errOut, tc.want, tc.notWant)
			}
			if out != "" {
				t.Errorf("got stdout %q, want none", out)
			}
		})
	}
}

// TestEnvFlagWins: the command line wins over the variable, which is then
// not even checked.
func TestEnvFlagWins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RECONCILER_LOG_FORMAT", "yaml")
	_, errOut, _ := runCLI(t, "diff", "--repo", "file://"+filepath.Join(dir, "no-repo"), "--dir", dir, "--log-format", "json")
	if strings.Contains(errOut, "LOG_FORMAT") || strings.Contains(errOut, "log-format") {
		t.Errorf("got stderr %q, want no word of the log format", errOut)
	}
}

// TestEnvUnknownWarns: each RECONCILER_* variable that no command knows gets
// one warning line on stderr, with the closest known name when one is close;
// a flag of another command (one env file serves them all) and the
// variables read without a flag get none.
func TestEnvUnknownWarns(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"RECONCILER_DIRECTORY":  dir,
		"RECONCILER_LOGFORMAT":  "json",
		"RECONCILER_ZZZ_NOPE":   "1",
		"RECONCILER_SCHEDULE":   "@every 1m",      // a flag of run, not of status
		"RECONCILER_HEALTH_URL": "http://x/ready", // a flag of sync, not of status
		"RECONCILER_GIT_TOKEN":  "s3cret-token",   // read without a flag
		"RECONCILER_DIR":        dir,
	} {
		t.Setenv(k, v)
	}
	want := "reconciler: warning: ignoring RECONCILER_DIRECTORY: no such setting (did you mean RECONCILER_DIR?)\n" +
		"reconciler: warning: ignoring RECONCILER_LOGFORMAT: no such setting (did you mean RECONCILER_LOG_FORMAT?)\n" +
		"reconciler: warning: ignoring RECONCILER_ZZZ_NOPE: no such setting\n"
	for _, args := range [][]string{{"status"}, {"suspend", "--reason", "test"}, {"diff", "--repo", "file://" + filepath.Join(dir, "no-repo")}} {
		out, errOut, _ := runCLI(t, args...)
		if !strings.Contains(errOut, want) {
			t.Errorf("%v: got stderr %q, want it to hold\n%s", args, errOut, want)
		}
		for _, no := range []string{"SCHEDULE", "HEALTH_URL", "GIT_TOKEN", "s3cret", "RECONCILER_DIR:", "RECONCILER_DIR "} {
			if strings.Contains(errOut+out, no) {
				t.Errorf("%v: got %q, want no word of %s", args, errOut+out, no)
			}
		}
		if strings.Contains(out, "warning") {
			t.Errorf("%v: got stdout %q, want warnings on stderr only", args, out)
		}
	}
}

func TestClosestEnv(t *testing.T) {
	known := knownEnv(newRootCmd(io.Discard, io.Discard))
	for _, tc := range []struct{ name, want string }{
		{"RECONCILER_DIRECTORY", "RECONCILER_DIR"},
		{"RECONCILER_LOGFORMAT", "RECONCILER_LOG_FORMAT"},
		{"RECONCILER_SHEDULE", "RECONCILER_SCHEDULE"},
		{"RECONCILER_KEEEP", "RECONCILER_KEEP"},
		{"RECONCILER_REPOSITORY", "RECONCILER_REPO"},
		{"RECONCILER_TOKEN", "RECONCILER_GIT_TOKEN"},
		{"RECONCILER_HEALTHURL", "RECONCILER_HEALTH_URL"},
		{"RECONCILER_HEALTH_TPC", "RECONCILER_HEALTH_TCP"},
		{"RECONCILER_ZZZ_NOPE", ""},
		{"RECONCILER_", ""},
	} {
		if got := closestEnv(tc.name, known); got != tc.want {
			t.Errorf("closestEnv(%s): got %q, want %q", tc.name, got, tc.want)
		}
	}
	// RECONCILER_VERSION is bump's --version, not the root's --version
	for _, k := range []string{"RECONCILER_SCHEDULE", "RECONCILER_GIT_TOKEN", "RECONCILER_TEST_MAIN", "RECONCILER_DIR", "RECONCILER_VERIFY_SSH_ALLOWED_SIGNERS", "RECONCILER_VERSION"} {
		if !slices.Contains(known, k) {
			t.Errorf("knownEnv: got %v, want it to hold %s", known, k)
		}
	}
	for _, k := range []string{"RECONCILER_HELP"} {
		if slices.Contains(known, k) {
			t.Errorf("knownEnv: got %v, want no %s (cobra's flags are never bound)", known, k)
		}
	}
}
