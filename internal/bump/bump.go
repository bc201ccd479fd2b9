package bump

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/linediff"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Bumper makes bump commits on one deploy repo's branch.
type Bumper struct {
	Source *gitsrc.Source // the repo and the followed branch
	// Trust, when enabled, must accept the head before a commit is made
	// on top of it, as for promote.
	Trust gitsrc.Trust
	Sign  gitsrc.Signer // nil: unsigned commits
	// Fetcher hashes a --bin-url given alone; MaxSize bounds it and the
	// local files (0: 2 GiB).
	Fetcher *artifacts.Fetcher
	// Registry pushes the --bin-oci and --cfg-oci artifacts
	// (artifacts/oci's Store); needed only by those.
	Registry Pusher
	Now      func() time.Time // nil: time.Now
}

// Pusher pushes a packed file to a registry: artifacts/oci's Store.
type Pusher interface {
	Push(ctx context.Context, t oci.Target, p oci.Packed, path string) error
}

// Result is what a bump did.
type Result struct {
	Path     string  `json:"path"`
	Old      Release `json:"old"`
	New      Release `json:"new"`
	Commit   string  `json:"commit,omitempty"` // the commit pushed (or, with no change, the head)
	Branch   string  `json:"branch"`           // where it was pushed, or would be
	Rollout  string  `json:"rollout,omitempty"`
	NoChange bool    `json:"no_change"`
	DryRun   bool    `json:"dry_run,omitempty"`
	Attempts int     `json:"attempts"` // reads of the branch (more than 1 after rejected pushes)
	Message  string  `json:"message,omitempty"`
	// Diff is the file's change as diff -u shows it (dry run only).
	Diff string `json:"diff,omitempty"`
	// Pushes are the OCI artifacts of the bump (--bin-oci, --cfg-oci):
	// pushed before the commit, or in a dry run what would be.
	Pushes []Push `json:"pushes,omitempty"`
}

// Run makes the bump: resolve the sources (hash, download), then read the
// branch, edit, commit and push, reading again when a push is rejected,
// up to req.Attempts times. When the other writer changed the values this
// bump changes, it stops with ErrConflict and pushes nothing.
func (b *Bumper) Run(ctx context.Context, req Request) (Result, error) {
	if err := req.Check(); err != nil {
		return Result{}, err
	}
	f := b.Fetcher
	if f == nil {
		f = &artifacts.Fetcher{}
	}
	maxSize := f.MaxSize
	if maxSize <= 0 {
		maxSize = artifacts.DefaultMaxSize
	}
	var t target
	var err error
	t.version = req.Version
	if t.bin, err = req.Bin.resolve(ctx, "bin", req.Version, f, maxSize); err != nil {
		return Result{}, err
	}
	if t.cfg, err = req.Cfg.resolve(ctx, "cfg", req.Version, f, maxSize); err != nil {
		return Result{}, err
	}
	if (t.bin.push != nil || t.cfg.push != nil) && b.Registry == nil {
		return Result{}, errors.New("bump: an OCI source and no registry client")
	}
	res := Result{Path: req.Path, Branch: req.Branch, DryRun: req.DryRun}
	if res.Branch == "" {
		res.Branch = b.Source.Ref()
	}
	var first *reconcile.Desired // the file as the first read found it
	attempts := req.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	res.Attempts, err = gitsrc.RetryRejected(ctx, attempts, func(ctx context.Context, _ int) error {
		return b.once(ctx, req, t, &first, &res)
	})
	return res, err
}

// once is one read of the branch, and the commit and push made on it.
func (b *Bumper) once(ctx context.Context, req Request, t target, first **reconcile.Desired, res *Result) error {
	depth := req.History
	if depth <= 0 {
		depth = DefaultHistory
	}
	br, err := b.Source.OpenBranch(ctx, depth, b.Trust)
	if err != nil {
		return err
	}
	st, err := read(ctx, br, req, t)
	if err != nil {
		return err
	}
	if *first == nil {
		*first = &st.cur
	} else if err := checkRace(**first, st, req, t); err != nil {
		return err
	}
	p, err := makePlan(st, req, t)
	if err != nil {
		return err
	}
	res.Old, res.New, res.Rollout, res.NoChange = releaseOf(p.old), releaseOf(p.next), p.rollout, p.noChange
	if p.noChange {
		res.Commit = st.head
		return nil
	}
	res.Message = p.message
	res.Pushes = t.pushes(res.Pushes)
	if req.DryRun {
		res.Diff = linediff.Unified("a/"+req.Path, "b/"+req.Path, st.data, p.data)
		return nil
	}
	if err := b.push(ctx, res.Pushes); err != nil {
		return err
	}
	return b.commit(ctx, br, req, p, res)
}

// pushes lists the target's OCI pushes, keeping what an earlier attempt
// already pushed.
func (t target) pushes(done []Push) []Push {
	var out []Push
	for _, r := range []resolved{t.bin, t.cfg} {
		if r.push == nil {
			continue
		}
		p := *r.push
		for _, d := range done {
			p.Pushed = p.Pushed || (d.Pinned == p.Pinned && d.Ref == p.Ref && d.Pushed)
		}
		out = append(out, p)
	}
	return out
}

// push pushes the OCI artifacts not pushed yet: after the plan (so an
// immutable version or a conflict pushes nothing), before the commit (so
// no agent reads a digest the registry does not have).
func (b *Bumper) push(ctx context.Context, pushes []Push) error {
	for i := range pushes {
		p := &pushes[i]
		if p.Pushed {
			continue
		}
		if err := b.Registry.Push(ctx, p.Target, p.Packed, p.File); err != nil {
			return fmt.Errorf("push %s: %w", p.File, err)
		}
		p.Pushed = true
	}
	return nil
}

// commit makes the commit and pushes it.
func (b *Bumper) commit(ctx context.Context, br *gitsrc.Branch, req Request, p plan, res *Result) error {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	who := object.Signature{Name: "reconciler bump", Email: "bump@reconciler.invalid", When: now()}
	rev, err := br.CommitFiles(p.files, p.message, who, b.Sign)
	if err != nil {
		return err
	}
	if req.Branch != "" {
		err = br.PushTo(ctx, req.Branch)
	} else {
		err = br.Push(ctx)
	}
	if err != nil {
		return err
	}
	res.Commit = rev
	return nil
}

// checkRace compares the file after a rejected push with the first read:
// another writer's change of other values (or of other files) is built
// on; one of the values this bump sets is a conflict, unless it is this
// very bump (someone made it first).
func checkRace(was reconcile.Desired, st state, req Request, t target) error {
	now := st.cur
	if sameRelease(releaseOf(was), releaseOf(now)) && reflect.DeepEqual(was.Rollout, now.Rollout) {
		return nil
	}
	want := releaseOf(now)
	want.Version, want.Bin = t.version, t.bin.art
	if t.cfg.art != nil {
		want.Cfg = t.cfg.art
	}
	if sameRelease(releaseOf(now), want) && !req.Rollout {
		return nil // the plan finds nothing to do
	}
	return fmt.Errorf("%w: %s changed at %.12s while this bump was being pushed (it read version %s, it now says %s); nothing pushed: look, then bump again",
		ErrConflict, req.Path, st.head, was.Version, now.Version)
}

// read reads the file at the head and in the history the clone holds,
// and the repo files the sources commit.
func read(ctx context.Context, br *gitsrc.Branch, req Request, t target) (state, error) {
	st := state{head: br.Head(), repoFiles: map[string][]byte{}}
	var headErr error
	_, err := br.Log(ctx, req.Path, func(rev gitsrc.Rev) bool {
		if rev.Hash == st.head {
			if headErr = rev.Err; headErr == nil {
				st.data = rev.Data
				st.cur, headErr = reconcile.ParseDesired(req.Path, rev.Data)
			}
			if headErr != nil {
				return false
			}
		}
		st.remember(rev, req.Path)
		return true
	})
	switch {
	case err != nil:
		return st, err
	case errors.Is(headErr, gitsrc.ErrFileNotFound):
		return st, fmt.Errorf("%w (bump changes an existing desired file: commit the first one by hand)", headErr)
	case headErr != nil:
		return st, headErr
	}
	for _, f := range []*gitsrc.File{t.bin.file, t.cfg.file} {
		if f != nil {
			if st.repoFiles[f.Path], err = readAtHead(ctx, br, f.Path); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// remember notes the releases the file names at rev, and its rollout
// block if it is the newest seen; an old bad version of the file names
// nothing.
func (st *state) remember(rev gitsrc.Rev, path string) {
	d, err := reconcile.ParseDesired(path, rev.Data)
	if rev.Err != nil || err != nil {
		return
	}
	st.seen = append(st.seen, seenRelease{rev: rev.Hash, rel: releaseOf(d)})
	if d.Rollout != nil {
		st.seen = append(st.seen, seenRelease{rev: rev.Hash, rel: releaseOf(*d.Rollout.From)})
		if st.lastRollout == nil {
			st.lastRollout = d.Rollout
		}
	}
}

// readAtHead returns a file at the head; nil when there is none.
func readAtHead(ctx context.Context, br *gitsrc.Branch, path string) ([]byte, error) {
	var data []byte
	var readErr error
	_, err := br.Log(ctx, path, func(rev gitsrc.Rev) bool {
		data, readErr = rev.Data, rev.Err
		return false
	})
	switch {
	case err != nil:
		return nil, err
	case errors.Is(readErr, gitsrc.ErrFileNotFound):
		return nil, nil
	}
	return data, readErr
}
