package gittest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// baseTime is the author and committer time of the first git invocation,
// in seconds since the epoch. Each invocation adds one second, so two
// commits with equal trees and messages still get different hashes.
const baseTime = 1_700_000_000

// Repo is a git repository with a worktree on disk, made with the git CLI.
// Its directory is the only entry of a fresh parent directory, which
// ServeHTTP exports.
type Repo struct {
	// Dir is the repository's worktree; the git directory is Dir/.git.
	Dir  string
	t    testing.TB
	home string // isolated HOME for every git invocation
	tick int    // git invocations so far; drives the commit clock
}

// NewRepo runs git init in a new temporary directory; the initial branch is
// main and there is no commit yet.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	root := t.TempDir()
	r := &Repo{
		Dir:  filepath.Join(root, "deploy"),
		t:    t,
		home: filepath.Join(root, "home"),
	}
	for _, d := range []string{r.Dir, r.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("gittest: %v", err)
		}
	}
	r.Git("init", "-q", "-b", "main")
	return r
}

// WriteFile writes data to the repo-relative path, creating directories.
// It does not commit.
func (r *Repo) WriteFile(path string, data []byte) {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
}

// Symlink creates the repo-relative path as a symbolic link to target,
// which is stored verbatim (it may be absolute or leave the repo).
// It does not commit.
func (r *Repo) Symlink(target, path string) {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	if err := os.Symlink(target, full); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
}

// Commit stages everything (git add -A), commits (an empty commit is
// allowed) and returns the new commit's full hash.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// URL returns the repository's file:// URL.
func (r *Repo) URL() string {
	return "file://" + r.Dir
}

// AddRefs creates n refs prefix+"000001", prefix+"000002", ... pointing at
// HEAD, packed, as a deploy repo that accumulated tags or pull-request
// refs has them. They are written into packed-refs directly (declared
// unsorted, then sorted by git pack-refs): 10,000 take a fraction of a
// second, where git update-ref takes seconds.
func (r *Repo) AddRefs(prefix string, n int) {
	r.t.Helper()
	head := r.Git("rev-parse", "HEAD")
	r.Git("pack-refs", "--all")
	path := filepath.Join(r.Dir, ".git", "packed-refs")
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatalf("gittest: %v", err)
	}
	var b bytes.Buffer
	b.WriteString("# pack-refs with: peeled fully-peeled \n")
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if !strings.HasPrefix(line, "#") {
			b.WriteString(line)
		}
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %s%06d\n", head, prefix, i)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	r.Git("pack-refs", "--all")
}

// Git runs git with args in the repository and returns its trimmed stdout.
// A failure ends the test with git's stderr.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	r.tick++

	full := append([]string{
		"-c", "commit.gpgsign=false",
		"-c", "tag.gpgsign=false",
		"-c", "init.defaultBranch=main",
		"-c", "core.autocrlf=false",
		"-c", "core.symlinks=true",
		"-c", "core.hooksPath=/dev/null",
	}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = r.Dir
	date := fmt.Sprintf("%d +0000", baseTime+r.tick)
	cmd.Env = append(isolatedEnv(r.home),
		"GIT_AUTHOR_NAME=Gittest Author",
		"GIT_AUTHOR_EMAIL=author@gittest.invalid",
		"GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Gittest Committer",
		"GIT_COMMITTER_EMAIL=committer@gittest.invalid",
		"GIT_COMMITTER_DATE="+date,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("gittest: git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// isolatedEnv returns the process environment without git's own variables,
// with HOME and the git configuration pointed away from the user's.
func isolatedEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GIT_") || name == "HOME" || name == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
	)
}
