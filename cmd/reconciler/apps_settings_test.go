package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/spf13/cobra"
)

// agentDefaults parses args as `reconciler run` would, with the process
// environment bound, and returns what its apps start from.
func agentDefaults(t *testing.T, args ...string) appDefaults {
	t.Helper()
	cmd, c, a := runCommand(io.Discard)
	root := &cobra.Command{Use: "reconciler"}
	root.AddCommand(cmd, newSuspendCmd(io.Discard))
	root.SetErr(io.Discard)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := bindEnv(cmd); err != nil {
		t.Fatal(err)
	}
	return newAppDefaults(cmd, c, a)
}

func appFile(t *testing.T, name, content string) appset.File {
	path := filepath.Join(t.TempDir(), name+".env")
	return appset.File{Name: name, Path: path, Data: []byte(content)}
}

// TestAppSettings: an app's settings are its file's over the agent's
// command line over the agent's environment over the defaults; one app's
// file does not leak into another's; settings of the agent itself are
// ignored and unknown names warned about; each refusal names the file
// (and the line).
func TestAppSettings(t *testing.T) {
	t.Setenv("RECONCILER_KEEP", "9")
	t.Setenv("RECONCILER_JITTER", "3s")
	t.Setenv("RECONCILER_HEALTH_TIMEOUT", "40s")
	d := agentDefaults(t, "--apps-dir", "/etc/x", "--keep", "7", "--schedule", "@every 5s", "--repo", "https://git.example/deploy.git",
		"--window", "0 9 * * 1-5 8h", "--notify-url", "https://a.example/hook")
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	dir := t.TempDir()

	c, a, err := d.settings(appFile(t, "web", "RECONCILER_DIR="+dir+"\nRECONCILER_KEEP=4\nRECONCILER_HEALTH_TIMEOUT=50s\n"+
		"RECONCILER_WINDOW=0 10 * * * 1h; 0 20 * * * 1h\nRECONCILER_NOTIFY_URL=https://b.example/x https://c.example/y\n"+
		"RECONCILER_LISTEN=127.0.0.1:1\nRECONCILER_DIRECTORY=/x\nRECONCILER_REASON=not mine\nRECONCILER_GIT_TOKEN=s3cr3t\n"), log)
	if err != nil {
		t.Fatal(err)
	}
	if c.Keep != 4 || c.HealthTimeout != 50*time.Second || a.Jitter != 3*time.Second || a.Schedule != "@every 5s" ||
		c.Repo != "https://git.example/deploy.git" || c.Dir != dir || a.Listen != "" || c.gitToken() != "s3cr3t" {
		t.Errorf("web: got keep %d, health timeout %s, jitter %s, schedule %q, repo %q, dir %q, listen %q, token %q; "+
			"want the file's keep and timeout, the environment's jitter, the command line's schedule and repo, no listen, the file's token",
			c.Keep, c.HealthTimeout, a.Jitter, a.Schedule, c.Repo, c.Dir, a.Listen, c.gitToken())
	}
	if strings.Join(c.Windows, ";") != "0 10 * * * 1h;0 20 * * * 1h" || strings.Join(c.Notify.urls, " ") != "https://b.example/x https://c.example/y" {
		t.Errorf("web: got windows %q and notify URLs %q, want the file's in place of the command line's", c.Windows, c.Notify.urls)
	}
	for _, want := range []string{"ignoring a setting of the agent itself", "RECONCILER_LISTEN", "RECONCILER_DIRECTORY: no such setting", "did_you_mean=RECONCILER_DIR"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs: no %q in\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "RECONCILER_REASON") {
		t.Errorf("a setting of another command (suspend's) was warned about:\n%s", logs.String())
	}

	c, _, err = d.settings(appFile(t, "api", "RECONCILER_DIR="+dir+"\n"), log)
	if err != nil {
		t.Fatal(err)
	}
	if c.Keep != 7 || c.HealthTimeout != 40*time.Second || c.gitToken() != os.Getenv("RECONCILER_GIT_TOKEN") {
		t.Errorf("api: got keep %d, health timeout %s; want the command line's 7 and the environment's 40s, nothing of web's file", c.Keep, c.HealthTimeout)
	}
	if strings.Join(c.Windows, ";") != "0 9 * * 1-5 8h" || strings.Join(c.Notify.urls, " ") != "https://a.example/hook" {
		t.Errorf("api: got windows %q and notify URLs %q, want the command line's", c.Windows, c.Notify.urls)
	}

	for _, tc := range []struct{ content, want string }{
		{"RECONCILER_DIR=" + dir + "\nHOME=/root\n", `bad.env:2: HOME: an app file holds RECONCILER_* settings only`},
		{"RECONCILER_DIR=" + dir + "\n\nRECONCILER_KEEP=x\n", `bad.env:3: RECONCILER_KEEP=x: strconv.ParseInt`},
		{"RECONCILER_DIR=" + dir + "\nRECONCILER_HEALTH_URL=ftp://x\n", `bad.env: --health-url "ftp://x": want an http(s) URL`},
		{"RECONCILER_DIR=" + dir + "\nRECONCILER_SCHEDULE=@every\n", `bad.env: --schedule "@every"`},
		{"RECONCILER_KEEP=3\n", `bad.env: --dir is required`},
		{"RECONCILER_DIR='" + dir + "\n", `bad.env:1: the ' quote opened here is never closed`},
	} {
		_, _, err := d.settings(appFile(t, "bad", tc.content), log)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.content, err, tc.want)
		}
	}
}

// TestAppsDirUsage: --dir and --apps-dir together, and an apps dir that
// is none, are usage errors.
func TestAppsDirUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"run", "--apps-dir", t.TempDir(), "--dir", t.TempDir()},
		{"run", "--apps-dir", filepath.Join(t.TempDir(), "missing"), "--cache-dir", t.TempDir()},
		{"status", "--apps-dir", t.TempDir(), "--dir", t.TempDir()},
	} {
		if _, errOut, code := runCLI(t, args...); code != 2 || !strings.Contains(errOut, "--apps-dir") {
			t.Errorf("%v: exit %d %q, want 2 and a message naming --apps-dir", args, code, errOut)
		}
	}
}
