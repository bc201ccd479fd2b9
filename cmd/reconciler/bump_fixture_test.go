package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// bumpRemote is a deploy repo as on a git host: a bare repo that accepts
// pushes, reachable over file:// and over smart HTTP (git http-backend),
// and a person's clone that writes its first files.
type bumpRemote struct {
	t    *testing.T
	repo *gittest.Repo // the person's clone
	bare string
	http string // bare's URL over smart HTTP
	art  *artServer
}

// newBumpRemote makes the remote with files committed by a person.
func newBumpRemote(t *testing.T, files map[string]string) *bumpRemote {
	r := &bumpRemote{t: t, repo: gittest.NewRepo(t), art: newArtServer(t)}
	for name, data := range files {
		r.repo.WriteFile(name, []byte(data))
	}
	r.repo.Commit("first")
	root := t.TempDir()
	r.bare = filepath.Join(root, "deploy.git")
	r.repo.Git("clone", "-q", "--bare", r.repo.Dir, r.bare)
	srv, err := gittest.NewServer(root, gittest.AllowPush())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	r.http = srv.URL + "/deploy.git"
	return r
}

// url is the remote's URL over transport "file" or "http".
func (r *bumpRemote) url(transport string) string {
	if transport == "http" {
		return r.http
	}
	return "file://" + r.bare
}

// git runs git on the bare repo.
func (r *bumpRemote) git(args ...string) string {
	r.t.Helper()
	return r.repo.Git(append([]string{"--git-dir", r.bare}, args...)...)
}

// show is a file at the tip of main.
func (r *bumpRemote) show(path string) string {
	r.t.Helper()
	return r.git("show", "main:"+path)
}

// holdPushes makes the remote keep every push waiting, after it has
// arrived and before any ref moves, until n pushes have arrived (a git
// pre-receive hook): the n writers read the same head and race, whatever
// the scheduler does. Later pushes pass at once.
func (r *bumpRemote) holdPushes(n int) {
	dir := r.t.TempDir()
	hook := fmt.Sprintf(`#!/bin/sh
: > %[1]s/arrived.$$
i=0
while [ "$(ls %[1]s | wc -l)" -lt %[2]d ]; do
  i=$((i+1))
  if [ $i -gt 1200 ]; then echo "held push: only $(ls %[1]s | wc -l) of %[2]d arrived in 60s" >&2; exit 1; fi
  sleep 0.05
done
`, dir, n)
	if err := os.WriteFile(filepath.Join(r.bare, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		r.t.Fatal(err)
	}
}

// publish puts a release binary on the artifact server and writes it to a
// local file too, as CI has it after a build: its URL, digest and file.
func (r *bumpRemote) publish(name, version string) (url, digest, file string) {
	data := binary(name + " " + version)
	url, digest = r.art.put("/"+name+"/"+version+"/"+name, data)
	file = filepath.Join(r.t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	return url, digest, file
}

// bumpArgs is a bump of app (its file APP/current.conf) to version from
// the local file, through the remote's transport.
func (r *bumpRemote) bumpArgs(transport, app, version string, extra ...string) []string {
	url, _, file := r.publish(app, version)
	return append([]string{"bump", "--repo", r.url(transport), "--path", app + "/current.conf", "--version", version,
		"--bin-url", url, "--bin-file", file}, extra...)
}

// desiredFile is a plain desired file of app at version, as bump writes
// artifacts (the remote's artifact server), laid out by hand.
func (r *bumpRemote) desiredFile(app, version string) string {
	url, digest, _ := r.publish(app, version)
	return fmt.Sprintf("{\n\t\"version\": %q,\n\t\"bin\": {\"url\": %q, \"sha256\": %q}\n}\n", version, url, digest)
}

// raw is a file at the tip of main, byte for byte.
func (r *bumpRemote) raw(path string) string {
	r.t.Helper()
	out, err := exec.Command("git", "--git-dir", r.bare, "cat-file", "blob", "main:"+path).Output()
	if err != nil {
		r.t.Fatalf("git cat-file main:%s: %v", path, err)
	}
	return string(out)
}
