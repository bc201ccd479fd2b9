package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// readConf reads release/current.conf as plain JSON.
func readConf(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "release", "current.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("current.conf: %v\n%s", err, data)
	}
	return m
}

func mustSync(t *testing.T, repo, dir string, extra ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, syncArgs(repo, dir, extra...)...)
	if code != 0 {
		t.Fatalf("sync: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	return out
}

func assertApplied(t *testing.T, dir, version, rev string) {
	t.Helper()
	conf := readConf(t, dir)
	want := map[string]string{
		"bin.file": filepath.Join(dir, "release", "app."+version),
		"cfg.file": filepath.Join(dir, "release", "cfg."+version),
		"version":  version,
		"revision": rev,
	}
	for k, v := range want {
		if conf[k] != v {
			t.Errorf("current.conf %s: got %q, want %q", k, conf[k], v)
		}
	}
	bin, err := os.ReadFile(filepath.Join(dir, "release", "app."+version))
	if err != nil || string(bin) != string(binary(version)) {
		t.Errorf("release/app.%s: got %d bytes (%v), want the published binary", version, len(bin), err)
	}
	for name, mode := range map[string]os.FileMode{"app." + version: 0o755, "cfg." + version: 0o640} {
		if fi, err := os.Stat(filepath.Join(dir, "release", name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("release/%s: got mode %v (%v), want %v", name, fi.Mode().Perm(), err, mode)
		}
	}
	for link, target := range map[string]string{"app.bin": "release/app." + version, "app.cfg": "release/cfg." + version} {
		if got, err := os.Readlink(filepath.Join(dir, link)); got != target {
			t.Errorf("%s: got -> %q (%v), want -> %q", link, got, err, target)
		}
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "release"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("release/%s: a temporary file was left behind", e.Name())
		}
	}
}

// TestSyncDeployRevert is the story: deploy 1.0, bump to 2.0, git revert
// back to 1.0, over file:// and over smart HTTP.
func TestSyncDeployRevert(t *testing.T) {
	for _, transport := range []string{"file", "http", "path"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			d := newDeployRepo(t)
			rev1 := d.release("1.0")
			url := map[string]string{"file": d.URL(), "path": d.Dir}[transport]
			if transport == "http" {
				url = d.ServeHTTP(t).URL
			}
			dir := t.TempDir()
			mustSync(t, url, dir)
			assertApplied(t, dir, "1.0", rev1)

			rev2 := d.release("2.0")
			mustSync(t, url, dir)
			assertApplied(t, dir, "2.0", rev2)
			if n := d.art.hitCount("/web-1.0"); n != 1 {
				t.Errorf("web-1.0 downloaded %d times, want 1", n)
			}

			d.Git("revert", "--no-edit", "HEAD")
			rev3 := d.Git("rev-parse", "HEAD")
			mustSync(t, url, dir)
			assertApplied(t, dir, "1.0", rev3)
			if n := d.art.hitCount("/web-1.0"); n != 1 {
				t.Errorf("rollback downloaded web-1.0 again (%d requests), want none", n-1)
			}

			// A sync with nothing new changes nothing.
			before := snapshot(t, dir, ".reconciler")
			if out := mustSync(t, url, dir); !strings.Contains(out, "unchanged") {
				t.Errorf("got %q, want an unchanged pass", out)
			}
			if after := snapshot(t, dir, ".reconciler"); after != before {
				t.Errorf("a no-change sync changed the dir:\n%s\nwant:\n%s", after, before)
			}
		})
	}
}

func TestSyncWritesStateAndStatus(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	rev := d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)

	out, errOut, code := runCLI(t, "status", "--dir", dir, "--json")
	if code != 1 { // --restart none: no app runs
		t.Fatalf("status with no app running: exit %d, want 1: %s", code, errOut)
	}
	var st reconcile.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if st.Version != "1.0" || st.Revision != rev || st.Applied == nil || st.Applied.Revision != rev ||
		st.LastPoll == nil || st.LastPoll.Result != reconcile.PollApplied || st.LastError != nil ||
		st.Links["app.bin"] != "release/app.1.0" {
		t.Errorf("got status %+v, want 1.0 applied at %s", st, rev)
	}
	fi, err := os.Stat(filepath.Join(dir, ".reconciler"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf(".reconciler: got %v (%v), want mode 0700", fi.Mode().Perm(), err)
	}

	// A failing pass is recorded as the last error, the applied state kept.
	d.commitDesired(`{"version": "2.0"}`)
	if _, _, code := runCLI(t, syncArgs(d.URL(), dir)...); code != 1 {
		t.Fatal("sync of a broken desired file: got exit 0")
	}
	out, _, _ = runCLI(t, "status", "--dir", dir)
	for _, want := range []string{"version:     1.0", "last poll:   error", `"bin" is required`} {
		if !strings.Contains(out, want) {
			t.Errorf("status: got\n%s\nwant it to contain %q", out, want)
		}
	}
}

func TestSyncFollowsTagAndForcePush(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	d.Git("tag", "-a", "-m", "prod", "prod")
	d.release("2.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir, "--ref", "prod")
	if v := readConf(t, dir)["version"]; v != "1.0" {
		t.Fatalf("following tag prod: got version %s, want 1.0", v)
	}

	// Rewrite main: drop 2.0, publish 3.0 on top of 1.0.
	dir2 := t.TempDir()
	mustSync(t, d.URL(), dir2)
	d.Git("reset", "-q", "--hard", "HEAD~1")
	rev := d.release("3.0")
	mustSync(t, d.URL(), dir2)
	assertApplied(t, dir2, "3.0", rev)
}

func TestSyncHostnamePath(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	d := newDeployRepo(t)
	d.release("1.0")
	d.Git("mv", "web/current.conf", "web/"+host+".conf")
	d.Commit("per host")
	dir := t.TempDir()
	t.Setenv("RECONCILER_PATH", "web/{hostname}.conf")
	out, errOut, code := runCLI(t, "sync", "--repo", d.URL(), "--dir", dir, "--restart", "none")
	if code != 0 {
		t.Fatalf("sync with {hostname}: exit %d: %s%s", code, out, errOut)
	}
	if v := readConf(t, dir)["version"]; v != "1.0" {
		t.Errorf("got version %q, want 1.0", v)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	t.Setenv("RECONCILER_REPO", d.URL())
	t.Setenv("RECONCILER_DIR", dir)
	t.Setenv("RECONCILER_PATH", "web/current.conf")
	t.Setenv("RECONCILER_RESTART", "none")
	if out, errOut, code := runCLI(t, "sync"); code != 0 {
		t.Fatalf("sync from RECONCILER_*: exit %d: %s%s", code, out, errOut)
	}
	t.Setenv("RECONCILER_KEEP", "many")
	if _, errOut, code := runCLI(t, "sync"); code != 2 || !strings.Contains(errOut, "RECONCILER_KEEP") {
		t.Errorf("bad RECONCILER_KEEP: got exit %d %q, want 2 naming the variable", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-executable"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--dir", dir}, "--repo is required"},
		{[]string{"sync", "--repo", "x"}, "--dir is required"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--restart", "kill"}, "--restart"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--max-artifact-size", "lots"}, "--max-artifact-size"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--verify-keyring", "/no/such/k.asc"}, "/no/such/k.asc"},
		{[]string{"sync", "--repo", "ssh://git@127.0.0.1:1/x", "--dir", dir, "--known-hosts", "/no/such/known_hosts"}, "known"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-cmd", "./no-such-check --fast"}, "--health-cmd"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-cmd", "no-such-program-anywhere"}, "--health-cmd"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-cmd", "./not-executable"}, "permission denied"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-tcp", "localhost"}, "--health-tcp"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-tcp", "localhost:http"}, "--health-tcp"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-tcp", "localhost:0"}, "--health-tcp"},
		{[]string{"sync", "--repo", "x", "--dir", dir, "--health-tcp", "localhost:65536"}, "--health-tcp"},
		{[]string{"run", "--repo", "x", "--dir", dir, "--health-bake", "-1s"}, "--health-bake"},
		{[]string{"watch", "--dir", dir, "--health-tcp", ":80"}, "--health-tcp"},
		{[]string{"sync", "--bogus"}, "unknown flag"},
		{[]string{"diff", "--dir", dir}, "--repo is required"},
		{[]string{"suspend", "--dir", dir}, "--reason is required"},
	}
	for _, tt := range tests {
		_, errOut, code := runCLI(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: got exit %d %q, want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestSyncHonoursKeep: sync prunes release/ to --keep as run does, and
// keeps the running and the previous release.
func TestSyncHonoursKeep(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	dir := t.TempDir()
	for _, v := range []string{"1.0", "2.0", "3.0", "4.0"} {
		d.release(v)
		mustSync(t, d.URL(), dir, "--keep", "2")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "release"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"app.3.0", "app.4.0", "cfg.3.0", "cfg.4.0", "current.conf"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("release/ after four syncs with --keep 2: got %v, want %v", got, want)
	}
}
