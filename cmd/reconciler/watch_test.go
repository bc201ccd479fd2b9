package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// handDir lays out an app dir by hand, as in the seed design: releases
// copied in, release/current.conf written by a person.
func handDir(t *testing.T, versions ...string) string {
	dir := t.TempDir()
	rel := filepath.Join(dir, "release")
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		os.WriteFile(filepath.Join(rel, "app."+v), []byte("#!/bin/sh\necho "+v+"\n"), 0o755)
		os.WriteFile(filepath.Join(rel, "cfg."+v), []byte("v="+v+"\n"), 0o640)
	}
	return dir
}

func confFor(dir, v string) string {
	return fmt.Sprintf(`{"bin.file": %q, "cfg.file": %q}`+"\n",
		filepath.Join(dir, "release", "app."+v), filepath.Join(dir, "release", "cfg."+v))
}

func linkOf(dir, name string) string {
	t, _ := os.Readlink(filepath.Join(dir, name))
	return t
}

// TestWatchHandEdits runs the real watcher and edits release/current.conf
// the ways people do: atomic rename, in-place write, sed -i. Bad edits are
// refused with a log line and change nothing.
func TestWatchHandEdits(t *testing.T) {
	t.Parallel()
	dir := handDir(t, "1", "2", "3")
	os.Chmod(filepath.Join(dir, "release", "app.3"), 0o644) // not executable
	conf := filepath.Join(dir, "release", "current.conf")
	os.WriteFile(conf, []byte(confFor(dir, "1")), 0o644)
	// A half-done switch left by a SIGKILL between the two renames: app.cfg
	// already on 1, app.bin still elsewhere, a temporary link left over.
	os.Symlink("release/cfg.1", filepath.Join(dir, "app.cfg"))
	os.Symlink("release/app.2", filepath.Join(dir, "app.bin"))
	os.Symlink("release/app.1", filepath.Join(dir, restartTempLink()))

	var logs syncBuffer
	cmd := exec.Command(os.Args[0], "watch", "--dir", dir, "--restart", "none", "--log-format", "json", "--resync", "1h")
	cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })

	waitFor(t, "start-up to repair the links", func() bool { return linkOf(dir, "app.bin") == "release/app.1" })
	if m, _ := filepath.Glob(filepath.Join(dir, ".link-tmp-*")); len(m) != 0 {
		t.Errorf("leftover temporary links after start-up: %v", m)
	}

	edits := []struct {
		name string
		do   func(v string)
	}{
		{"atomic rename", func(v string) {
			tmp := conf + ".tmp"
			os.WriteFile(tmp, []byte(confFor(dir, v)), 0o644)
			os.Rename(tmp, conf)
		}},
		{"in-place write", func(v string) { os.WriteFile(conf, []byte(confFor(dir, v)), 0o644) }},
		{"sed -i", func(v string) {
			out, err := exec.Command("sed", "-i", "-E", `s/\.[0-9]+"/.`+v+`"/g`, conf).CombinedOutput()
			if err != nil {
				t.Fatalf("sed: %v %s", err, out)
			}
		}},
	}
	for i, e := range edits {
		v := []string{"2", "1", "2"}[i]
		e.do(v)
		waitFor(t, e.name+" to switch to "+v, func() bool {
			return linkOf(dir, "app.bin") == "release/app."+v && linkOf(dir, "app.cfg") == "release/cfg."+v
		})
	}

	bad := []struct{ content, want string }{
		{`{"bin.file": "/bin/sh"}`, "is not a file in"},
		{`{"bin.file": "` + filepath.Join(dir, "release", "app.9") + `"}`, "no such file"},
		{confFor(dir, "3"), "no exec bit"},
		{`{"bin.file": `, "unexpected end"},
	}
	for _, b := range bad {
		os.WriteFile(conf, []byte(b.content), 0o644)
		waitFor(t, "a log line refusing "+b.content, func() bool {
			return strings.Contains(logs.String(), b.want)
		})
		if linkOf(dir, "app.bin") != "release/app.2" {
			t.Errorf("after the bad edit %s: app.bin -> %s, want release/app.2 unchanged", b.content, linkOf(dir, "app.bin"))
		}
	}
	if !strings.Contains(logs.String(), `"msg":"release/current.conf not applied"`) {
		t.Errorf("want a clear log line for refused edits, got:\n%s", logs.String())
	}
}

func restartTempLink() string { return ".link-tmp-app.bin-deadbeef" }
