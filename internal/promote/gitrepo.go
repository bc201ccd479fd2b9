package promote

import (
	"context"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// GitRepo is the deploy repo's branch read and pushed through gitsrc: the
// Repo of reconciler promote, and of anything else that runs the
// Promoter on a real remote (the bench's rollout rows).
type GitRepo struct {
	Source *gitsrc.Source
	// Trust, when enabled, must accept the head before a commit is made
	// on top of it: a writer must not sign on what its readers refuse.
	Trust gitsrc.Trust
	// Sign signs the commits; nil leaves them unsigned.
	Sign gitsrc.Signer
}

// author is who the commits are by.
func author(now time.Time) object.Signature {
	return object.Signature{Name: "reconciler promote", Email: "promote@reconciler.invalid", When: now}
}

// Open clones the branch into memory with depth commits of history.
func (r GitRepo) Open(ctx context.Context, depth int) (Branch, error) {
	b, err := r.Source.OpenBranch(ctx, depth, r.Trust)
	if err != nil {
		return nil, err
	}
	return gitBranch{b: b, sign: r.Sign}, nil
}

type gitBranch struct {
	b    *gitsrc.Branch
	sign gitsrc.Signer
}

func (b gitBranch) Log(ctx context.Context, path string, visit func(Rev) bool) (bool, error) {
	return b.b.Log(ctx, path, func(r gitsrc.Rev) bool { return visit(Rev(r)) })
}

func (b gitBranch) Commit(path string, data []byte, msg string) (string, error) {
	return b.b.Commit(path, data, msg, author(time.Now()), b.sign)
}

// Push sends the commit; a rejection wraps gitsrc.ErrPushRejected (ours),
// so Run decides again.
func (b gitBranch) Push(ctx context.Context) error { return b.b.Push(ctx) }
