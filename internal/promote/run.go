package promote

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// ErrPushRejected: the branch moved between the read and the push
// (someone pushed meanwhile). Run reads it again and decides again. It is
// gitsrc's: the loop that retries is gitsrc.RetryRejected, shared with
// every writer.
var ErrPushRejected = gitsrc.ErrPushRejected

// Repo opens the deploy repo's branch: every Open reads the remote afresh.
type Repo interface {
	// Open clones the branch with depth commits of history (0: all).
	Open(ctx context.Context, depth int) (Branch, error)
}

// Branch is one read of the branch, on which at most one commit is made.
type Branch interface {
	// Log hands visit the file at the head and at each first parent,
	// newest first, until visit returns false; shallow says the history
	// ended at the clone's depth rather than at the first commit.
	Log(ctx context.Context, path string, visit func(Rev) bool) (shallow bool, err error)
	// Commit sets the file to data in a new commit on top of the head.
	Commit(path string, data []byte, msg string) (rev string, err error)
	// Push sends the commit; an error wrapping ErrPushRejected when the
	// remote branch moved since Open.
	Push(ctx context.Context) error
}

// Rev is one commit of the branch and the file at it.
type Rev struct {
	Hash string
	Time time.Time
	Data []byte
	Err  error // the file could not be read there
}

// depths are the histories Run clones, in turn, until it finds the
// commit that made the head's wave: most rollouts are a few commits deep,
// but a busy deploy repo has other apps' commits in between.
var depths = []int{32, 1024, 0}

// Promoter runs one promotion: read, decide, commit, push.
type Promoter struct {
	Repo       Repo
	Path       string // the desired file in the repo
	Prometheus Prometheus
	DryRun     bool
	// Attempts bounds the reads and decisions when pushes are rejected;
	// 0 means gitsrc.DefaultPushAttempts (3).
	Attempts int
	Now      func() time.Time // nil: time.Now
}

// Result is what one run did.
type Result struct {
	// NoRollout: the file has no rollout block; nothing to decide.
	NoRollout bool
	Decision  Decision
	Head      string // the commit decided on
	Since     time.Time
	Rev       string // the commit pushed; "" if none
	Attempts  int    // decisions made (more than 1 after rejected pushes)
}

// Line is the run's one line, as `reconciler promote` prints it: the
// decision and what became of it, for path.
func (r Result) Line(path string) string {
	if r.NoRollout {
		return fmt.Sprintf("none: %s has no rollout block at %s; nothing to promote", path, gitrev.Short(r.Head))
	}
	dec := r.Decision
	line := dec.Action.String() + ": " + dec.Subject()
	switch {
	case dec.Action == Hold:
	case r.Rev == "":
		line += " [dry run: nothing committed]"
	case r.Attempts > 1:
		line += fmt.Sprintf(" [pushed %s, after %d pushes were refused]", gitrev.Short(r.Rev), r.Attempts-1)
	default:
		line += " [pushed " + gitrev.Short(r.Rev) + "]"
	}
	return line
}

// Run makes one decision and, unless it holds or DryRun, commits and
// pushes it. A rejected push is read and decided again, up to Attempts.
func (p *Promoter) Run(ctx context.Context) (Result, error) {
	var res Result
	n, err := gitsrc.RetryRejected(ctx, p.Attempts, func(ctx context.Context, _ int) error {
		var err error
		res, err = p.once(ctx)
		return err
	})
	res.Attempts = n
	return res, err
}

func (p *Promoter) once(ctx context.Context) (Result, error) {
	b, head, res, err := p.read(ctx)
	if err != nil || head.Rollout == nil {
		return res, err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	dec, err := Decide(ctx, p.Prometheus, Input{Desired: head, Since: res.Since, Now: now(), Path: p.Path})
	if err != nil {
		return res, err
	}
	res.Decision = dec
	if dec.Action == Hold || p.DryRun {
		return res, nil
	}
	data, err := dec.Next.MarshalIndent()
	if err == nil {
		_, err = reconcile.ParseDesired(p.Path, data) // what agents will read
	}
	if err != nil {
		return res, fmt.Errorf("write the %s decision: %w", dec.Action, err)
	}
	if res.Rev, err = b.Commit(p.Path, data, dec.Message()); err != nil {
		return res, err
	}
	if err := b.Push(ctx); err != nil {
		res.Rev = ""
		return res, err
	}
	return res, nil
}

// read opens the branch, parses the file at its head and finds when the
// head's wave was made, cloning deeper until the history shows it.
func (p *Promoter) read(ctx context.Context) (Branch, reconcile.Desired, Result, error) {
	for _, depth := range depths {
		b, err := p.Repo.Open(ctx, depth)
		if err != nil {
			return nil, reconcile.Desired{}, Result{}, err
		}
		var (
			res     Result
			head    reconcile.Desired
			readErr error
			found   bool
		)
		shallow, err := b.Log(ctx, p.Path, func(rev Rev) bool {
			if res.Head == "" {
				res.Head = rev.Hash
				if readErr = rev.Err; readErr == nil {
					head, readErr = reconcile.ParseDesired(p.Path, rev.Data)
				}
				res.Since = rev.Time
				return readErr == nil && head.Rollout != nil
			}
			if rev.Err != nil || !SameWave(head, parseQuiet(p.Path, rev.Data)) {
				found = true
				return false
			}
			res.Since = rev.Time
			return true
		})
		switch {
		case err != nil:
			return nil, head, res, err
		case readErr != nil:
			return nil, head, res, readErr
		case head.Rollout == nil:
			res.NoRollout = true
			return b, head, res, nil
		case found || !shallow || depth == 0:
			return b, head, res, nil
		}
	}
	panic("unreachable: the last depth is the whole history")
}

func parseQuiet(path string, data []byte) reconcile.Desired {
	d, _ := reconcile.ParseDesired(path, data)
	return d
}

// SameWave reports whether a and b put the same hosts in the wave of the
// same release: the same rollout id, version, percent and canary, both
// halted or neither. The soak of a step counts from the commit that made
// the head's wave; a commit that changes anything else (a check, a soak)
// does not restart it.
func SameWave(a, b reconcile.Desired) bool {
	ra, rb := a.Rollout, b.Rollout
	if ra == nil || rb == nil {
		return false
	}
	ca, cb := slices.Sorted(slices.Values(ra.Canary)), slices.Sorted(slices.Values(rb.Canary))
	return a.WaveID() == b.WaveID() && a.Version == b.Version && ra.PercentOf() == rb.PercentOf() &&
		slices.Equal(ca, cb) && (ra.Halted == nil) == (rb.Halted == nil)
}
