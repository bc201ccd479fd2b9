package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// webEnv is docs/systemd/web.env with the deploy repo, path and directory
// of a test (its 30s durations, "@every 30s" schedule and the rest kept),
// and extra lines.
func webEnv(t *testing.T, repo, dir string, extra ...string) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/systemd/web.env")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for name, v := range map[string]string{"REPO": repo, "PATH": "web/current.conf", "DIR": dir} {
		re := regexp.MustCompile(`(?m)^RECONCILER_` + name + `=.*$`)
		if !re.MatchString(s) {
			t.Fatalf("web.env has no RECONCILER_%s", name)
		}
		s = re.ReplaceAllLiteralString(s, "RECONCILER_"+name+"="+v)
	}
	if !strings.Contains(s, "=30s\n") || !strings.Contains(s, "=@every 30s\n") {
		t.Fatalf("web.env no longer has the values a shell cannot source:\n%s", s)
	}
	file := filepath.Join(t.TempDir(), "web.env")
	if err := os.WriteFile(file, []byte(s+strings.Join(extra, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestDiffEnvFile: the systemd unit's own file serves diff by hand, with
// its --restart (here none: with the default, diff would plan to start an
// app); the command line's flags are over it; a bad value is named by
// file and line; a missing file is a usage error.
func TestDiffEnvFile(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)
	file := webEnv(t, d.URL(), dir, "RECONCILER_RESTART=none")

	if out, errOut, code := runCLI(t, "diff", "--env-file", file); code != 0 || !strings.Contains(out, "in sync") {
		t.Fatalf("diff --env-file web.env: exit %d\n%s%s\nwant 0, in sync", code, out, errOut)
	}
	d.release("2.0")
	if out, errOut, code := runCLI(t, "diff", "--env-file", file); code != 1 || !strings.Contains(out, "2.0") {
		t.Errorf("diff --env-file web.env after a bump: exit %d\n%s%s\nwant 1 and version 2.0", code, out, errOut)
	}
	if _, errOut, code := runCLI(t, "diff", "--env-file", file, "--path", "web/nope.conf"); code != 2 || !strings.Contains(errOut, "web/nope.conf") {
		t.Errorf("diff --env-file with --path: exit %d %q, want 2 naming the flag's path", code, errOut)
	}
	bad := webEnv(t, d.URL(), dir, "RECONCILER_KEEP=many")
	if _, errOut, code := runCLI(t, "sync", "--env-file", bad); code != 2 || !regexp.MustCompile(regexp.QuoteMeta(bad)+`:\d+: RECONCILER_KEEP=many: `).MatchString(errOut) {
		t.Errorf("sync --env-file with a bad value: exit %d %q, want 2 naming file, line and setting", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "gone.env")
	if _, errOut, code := runCLI(t, "status", "--env-file", missing); code != 2 || !strings.Contains(errOut, missing) {
		t.Errorf("status --env-file of a missing file: exit %d %q, want 2 naming it", code, errOut)
	}
	typo := webEnv(t, d.URL(), dir, "RECONCILER_RESTART=none", "RECONCILER_HEALTH_TIMOUT=5s")
	if _, errOut, code := runCLI(t, "diff", "--env-file", typo); code != 1 || !strings.Contains(errOut, "RECONCILER_HEALTH_TIMOUT") {
		t.Errorf("diff --env-file with a typo: exit %d %q, want the typo warned about", code, errOut)
	}
}

// TestEnvFileOverEnvironment: the file is over the environment (a
// variable a shell still exports cannot send the command elsewhere) and
// under the command line.
func TestEnvFileOverEnvironment(t *testing.T) {
	d := newDeployRepo(t)
	d.release("1.0")
	dir, other := t.TempDir(), t.TempDir()
	mustSync(t, d.URL(), dir)
	mustSync(t, d.URL(), other)
	file := webEnv(t, d.URL(), dir)
	t.Setenv("RECONCILER_DIR", other)
	if _, errOut, code := runCLI(t, "suspend", "--env-file", file, "--reason", "file"); code != 0 {
		t.Fatalf("suspend --env-file: exit %d %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "suspend", "--env-file", file, "--dir", other, "--reason", "flag"); code != 0 {
		t.Fatalf("suspend --env-file --dir: exit %d %s", code, errOut)
	}
	for d, want := range map[string]string{dir: "file", other: "flag"} {
		data, _ := os.ReadFile(filepath.Join(d, ".reconciler", "suspended.json"))
		if !strings.Contains(string(data), `"reason":"`+want+`"`) {
			t.Errorf("%s: suspended.json %s, want the reason %q", d, data, want)
		}
	}
}

// TestAppsDirAppCommands: diff, status, suspend, resume and retry take
// --apps-dir DIR --app NAME and act on the directory of NAME.env.
func TestAppsDirAppCommands(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)
	apps := t.TempDir()
	os.WriteFile(filepath.Join(apps, "web.env"), []byte("RECONCILER_REPO="+d.URL()+"\nRECONCILER_PATH=web/current.conf\nRECONCILER_DIR="+dir+
		"\nRECONCILER_RESTART=none\nRECONCILER_HEALTH_TIMEOUT=30s\n"), 0o644)
	app := func(args ...string) []string { return append(args, "--apps-dir", apps, "--app", "web") }

	if out, errOut, code := runCLI(t, app("suspend", "--reason", "by name")...); code != 0 || !strings.Contains(out, dir) {
		t.Errorf("suspend --app web: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, _ := runCLI(t, app("status")...); !strings.Contains(out, "by name") {
		t.Errorf("status --app web does not show the suspension:\n%s", out)
	}
	if out, errOut, code := runCLI(t, app("resume")...); code != 0 || !strings.Contains(out, dir+": resumed") {
		t.Errorf("resume --app web: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := runCLI(t, app("diff")...); code != 0 || !strings.Contains(out, "in sync") {
		t.Errorf("diff --app web: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runCLI(t, app("retry")...); code != 1 || !strings.Contains(errOut, "nothing to retry") {
		t.Errorf("retry --app web: exit %d %q, want 1: nothing to retry", code, errOut)
	}
	for _, args := range [][]string{
		{"status", "--apps-dir", apps, "--app", "nope"},
		{"status", "--app", "web"},
		{"diff", "--apps-dir", apps, "--app", "web", "--env-file", filepath.Join(apps, "web.env")},
		{"suspend", "--apps-dir", apps, "--app", "../web", "--reason", "x"},
	} {
		if _, errOut, code := runCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d %q, want 2", args, code, errOut)
		}
	}
}
