package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestBumpTakesTheFileToken: bump reads RECONCILER_GIT_TOKEN from its
// --env-file, as every command that reaches the deploy repo does (one
// source of the token), and pushes over HTTPS with it; the token appears
// in no output.
func TestBumpTakesTheFileToken(t *testing.T) {
	const token = "file-t0ken-s3cret"
	t.Setenv("RECONCILER_GIT_TOKEN", "") // the file's alone
	r := newBumpRemote(t, nil)
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	before := r.git("rev-parse", "main")
	srv, err := gittest.NewServer(filepath.Dir(r.bare), gittest.AllowPush(), gittest.WithBasicAuth(gitsrc.TokenUser, token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	env := filepath.Join(t.TempDir(), "bump.env")
	if err := os.WriteFile(env, []byte("RECONCILER_GIT_TOKEN="+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _, file := r.publish("web", "2.0")
	out, errOut, code := runCLI(t, "bump", "--env-file", env, "--repo", srv.URL+"/deploy.git", "--path", "web/current.conf",
		"--version", "2.0", "--bin-url", url, "--bin-file", file)
	if code != 0 {
		t.Fatalf("bump --env-file with the token: exit %d: %s%s", code, out, errOut)
	}
	if got := r.git("rev-parse", "main"); got == before || got != strings.TrimSpace(out) {
		t.Errorf("main at %s after bump printed %q (was %s): want the bump's commit", got, out, before)
	}
	if strings.Contains(out+errOut, token) {
		t.Errorf("the token is in the output:\n%s%s", out, errOut)
	}
}
