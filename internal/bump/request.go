package bump

import (
	"fmt"
	"path"
	"strings"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/repopath"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// DefaultHistory is how many commits of the branch a bump reads: the
// file at each is checked for the version (immutability), and searched
// for the last rollout block (--rollout).
const DefaultHistory = 32

// DefaultAttempts bounds the reads and pushes of one bump when pushes are
// rejected: enough for ten writers of one branch pushing at once.
const DefaultAttempts = 10

// Request is one bump: which file, to which release, and how to commit it.
type Request struct {
	Path     string // the desired file in the deploy repo
	Version  string
	Bin, Cfg Source // Bin is required; without Cfg the file's cfg stays
	Message  string // "": "<app>: <old> -> <new>"
	// Branch, when set, receives the commit (a new branch, for review)
	// instead of the followed ref.
	Branch string
	// Rollout starts a staged rollout; RolloutID is its id ("": <app>-<version>).
	Rollout   bool
	RolloutID string
	DryRun    bool
	History   int // commits read; 0: DefaultHistory
	Attempts  int // 0: DefaultAttempts
}

// Check refuses what the command line got wrong, before anything is read
// or fetched; errors are *UsageError and name the flag.
func (r *Request) Check() error {
	bad := func(format string, args ...any) error { return usage(fmt.Errorf(format, args...)) }
	if err := repopath.CheckClean(r.Path); err != nil {
		return bad("--path: %w", err)
	}
	if r.Version == "" {
		return bad("--version is required")
	}
	if err := reconcile.CheckVersion(r.Version); err != nil {
		return bad("--version: %w", err)
	}
	if !r.Bin.Given() {
		return bad("a bin source is required: --bin-url with --bin-file or --bin-sha256, --bin-url alone, --bin-repo-file with --bin-path, or --bin-oci with --bin-file")
	}
	for _, s := range []struct {
		key string
		src Source
	}{{"bin", r.Bin}, {"cfg", r.Cfg}} {
		if _, err := s.src.check(s.key); err != nil {
			return err
		}
	}
	if r.Bin.RepoPath != "" && r.Bin.RepoPath == r.Cfg.RepoPath {
		return bad("--bin-path and --cfg-path are the same file %q", r.Bin.RepoPath)
	}
	for _, p := range []string{r.Bin.RepoPath, r.Cfg.RepoPath} {
		if p != "" && p == r.Path {
			return bad("--bin-path/--cfg-path %q is the desired file itself", p)
		}
	}
	if r.RolloutID != "" {
		if !r.Rollout {
			return bad("a rollout id needs --rollout")
		}
		if err := reconcile.CheckVersion(r.RolloutID); err != nil {
			return bad("--rollout: id %w", err)
		}
	}
	if r.Branch != "" {
		if err := gitsrc.CheckBranch(r.Branch); err != nil {
			return bad("--branch: %w", err)
		}
	}
	if r.History < 0 {
		return bad("--history %d: want 1 or more commits", r.History)
	}
	return nil
}

// App is the app's name in commit messages and rollout ids: the directory
// of a file named current.*, else the file's name without its extension
// (web/current.conf and hosts/web-01/web.conf are both "web").
func App(file string) string {
	base := path.Base(file)
	name := strings.TrimSuffix(base, path.Ext(base))
	if name == "current" && path.Dir(file) != "." {
		return path.Base(path.Dir(file))
	}
	return name
}
