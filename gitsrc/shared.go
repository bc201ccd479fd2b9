package gitsrc

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// ShareWindow is how long after a ref listing began a Shared answers Head
// with it instead of listing again: apps whose polls fall on the same tick
// start them within milliseconds of each other, and a poll period is at
// least a second.
const ShareWindow = 500 * time.Millisecond

// Shared is one deploy repo and ref followed by several engines of one
// process (reconciler run --apps-dir), so that N apps cost the git host
// what one app costs: one ref listing for the polls that start while it
// runs or within the window after it began, and one cache, fetched into
// once per new commit, for all of them. It is safe for concurrent use
// through its Handles; a Source is not, and go-git's object storage is not
// either.
//
// Inside, two Sources: one lists refs (and holds no cache), one owns the
// cache and does everything else. Each is used by one goroutine at a time:
// the listing by the leader of the listing under way, the cache by the
// holder of a turn (a buffered channel of one, so waiting for it ends with
// the caller's context). So a poll's Head never waits for another app's
// fetch or file read, and a fetch never races a read of the same packs.
type Shared struct {
	list   *Source
	cache  *Source
	window time.Duration

	mu     sync.Mutex // guards flight, last, newest, full, gen and seq
	flight *listing   // the listing under way (the only user of list), nil if none
	last   *listing   // the last listing that succeeded, nil after Invalidate
	newest *listing   // the last listing that ended, failed or not (not dropped): what a follower takes
	full   plumbing.ReferenceName
	gen    int // bumped by Invalidate: older listings are shared no more
	seq    int // the listings that ended (not dropped), numbering newest

	turn chan struct{} // holds a token while someone uses cache
}

// listing is one ref listing, awaited by the Heads that share it.
type listing struct {
	start   time.Time
	gen     int
	seq     int           // its number among the listings that ended (set when it ends)
	done    chan struct{} // closed when hash and err are set
	hash    string
	err     error
	dropped bool // the leader's context ended: it says nothing of the remote
}

// NewShared returns a Shared reading opts.URL at opts.Ref through the cache
// in opts.CacheDir ("" keeps it in memory). window is ShareWindow unless
// given (0: only listings under way are shared).
func NewShared(opts Options, window time.Duration) (*Shared, error) {
	cache, err := New(opts)
	if err != nil {
		return nil, err
	}
	lo := opts
	lo.CacheDir = ""
	list, err := New(lo)
	if err != nil {
		return nil, err
	}
	return &Shared{list: list, cache: cache, window: window, turn: make(chan struct{}, 1)}, nil
}

// Handle returns a new way in for one engine.
func (s *Shared) Handle() *Handle { return &Handle{s: s} }

// Follower returns a way in for a reader that looks after the engines'
// polls (the agent's updater of itself, run --agent-path, triggered after
// each poll of the app): its Head answers with the newest listing that
// ended since its previous Head, whoever made it, and lists only when
// none did. So a follower costs the git host no listing of its own while
// an engine polls the same repo and ref before each of its looks, and its
// answer is never older than that engine's poll. A listing begun before
// an Invalidate is not taken.
func (s *Shared) Follower() *Handle { return &Handle{s: s, follow: true} }

// followed returns the newest listing that ended after the one a
// follower last saw (*seen), and notes it seen; nil when there is none.
func (s *Shared) followed(seen *int) *listing {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.newest
	if l == nil || l.seq <= *seen || l.gen != s.gen {
		return nil
	}
	*seen = l.seq
	return l
}

// seenAll notes every listing that ended so far as seen by a follower.
func (s *Shared) seenAll(seen *int) {
	s.mu.Lock()
	*seen = s.seq
	s.mu.Unlock()
}

// Invalidate makes the next Head list refs afresh, for a poll someone asked
// for because the branch moved (a webhook): a listing begun before it is
// shared no more.
func (s *Shared) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = nil
	s.gen++
}

// head returns the followed ref's commit from a listing that is under way,
// or that began within the window, or from one it makes itself; n is how
// many listings this call made (the leader's, at most two: see resolve).
func (s *Shared) head(ctx context.Context) (hash string, n int64, err error) {
	for {
		s.mu.Lock()
		if l := s.last; l != nil && time.Since(l.start) < s.window {
			s.mu.Unlock()
			return l.hash, 0, nil
		}
		if l := s.flight; l != nil {
			stale := l.gen != s.gen // begun before an Invalidate: wait it out, list anew
			s.mu.Unlock()
			select {
			case <-l.done:
			case <-ctx.Done():
				return "", 0, fmt.Errorf("list refs of %s: %w", s.list.logURL, ctx.Err())
			}
			if l.dropped || stale {
				continue // its leader went away, or it is too old: list again, or join who does
			}
			return l.hash, 0, l.err
		}
		l := &listing{start: time.Now(), gen: s.gen, done: make(chan struct{})}
		s.flight = l
		s.mu.Unlock()
		return s.lead(ctx, l)
	}
}

// lead makes listing l, the only one under way, and hands its result to
// those waiting for it.
func (s *Shared) lead(ctx context.Context, l *listing) (string, int64, error) {
	n0 := s.list.stats.refListings.Load()
	h, full, err := s.list.resolve(ctx)
	n := s.list.stats.refListings.Load() - n0
	s.mu.Lock()
	s.flight = nil
	l.err, l.dropped = err, err != nil && ctx.Err() != nil
	if err == nil {
		l.hash = h.String()
		s.full = full
		if l.gen == s.gen {
			s.last = l
		}
	}
	if !l.dropped {
		s.seq++
		l.seq, s.newest = s.seq, l
	}
	s.mu.Unlock()
	close(l.done)
	return l.hash, n, err
}

// take waits for the cache's turn, or for ctx to end.
func (s *Shared) take(ctx context.Context, op string) error {
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: wait for the git cache shared with other apps: %w", op, s.cache.logURL, ctx.Err())
	}
}

func (s *Shared) give() { <-s.turn }

// Handle is one engine's way into a Shared: the methods of Source that the
// engine uses, safe for concurrent use with other Handles of the same
// Shared, and Stats counting the calls to the git host that this engine's
// calls made (a Head answered by another's listing counts nothing), so the
// Handles' stats add up to what the git host saw.
type Handle struct {
	s      *Shared
	stats  counters
	follow bool // Follower's: Head takes the newest listing not yet seen
	seen   int  // the follower's: the seq of the newest listing it answered with
}

// URL returns the deploy repo's URL in the form safe to log.
func (h *Handle) URL() string { return h.s.cache.logURL }

// Stats returns the calls to the git host made on this Handle's behalf.
// It is safe to call from any goroutine.
func (h *Handle) Stats() Stats {
	return Stats{RefListings: h.stats.refListings.Load(), Fetches: h.stats.fetches.Load()}
}

// Invalidate is Shared.Invalidate.
func (h *Handle) Invalidate() { h.s.Invalidate() }

// Head is Source.Head, shared (see Shared); a Follower's answers with
// the newest listing it has not seen yet, when one ended since its last
// Head (its error too: a failed listing is not made again at once).
func (h *Handle) Head(ctx context.Context) (string, error) {
	if h.follow {
		if l := h.s.followed(&h.seen); l != nil {
			return l.hash, l.err
		}
	}
	hash, n, err := h.s.head(ctx)
	h.stats.refListings.Add(n)
	if h.follow {
		h.s.seenAll(&h.seen)
	}
	return hash, err
}

// Fetch is Source.Fetch on the shared cache: when another app fetched want
// already, it returns at once.
func (h *Handle) Fetch(ctx context.Context, want string) (string, error) {
	if err := h.s.take(ctx, "fetch"); err != nil {
		return "", err
	}
	defer h.s.give()
	c := h.s.cache
	if c.full == "" { // known from the listings: saves the cache one of its own
		h.s.mu.Lock()
		c.full = h.s.full
		h.s.mu.Unlock()
	}
	l0, f0 := c.stats.refListings.Load(), c.stats.fetches.Load()
	rev, err := c.Fetch(ctx, want)
	h.stats.refListings.Add(c.stats.refListings.Load() - l0)
	h.stats.fetches.Add(c.stats.fetches.Load() - f0)
	return rev, err
}

// ReadFile is Source.ReadFile on the shared cache.
func (h *Handle) ReadFile(ctx context.Context, rev, path string) ([]byte, error) {
	if err := h.s.take(ctx, "read "+path+" of"); err != nil {
		return nil, err
	}
	defer h.s.give()
	return h.s.cache.ReadFile(ctx, rev, path)
}

// OpenFile is Source.OpenFile on the shared cache. The stream reads the
// cache's packs, so the cache stays this Handle's until it is closed:
// other apps on the same repo wait for the copy of a binary committed to
// the repo (local reads, no network), not for anything slower.
func (h *Handle) OpenFile(ctx context.Context, rev, path string) (io.ReadCloser, int64, error) {
	if err := h.s.take(ctx, "open "+path+" of"); err != nil {
		return nil, 0, err
	}
	rc, size, err := h.s.cache.OpenFile(ctx, rev, path)
	if err != nil {
		h.s.give()
		return nil, 0, err
	}
	return &turnReader{ReadCloser: rc, give: sync.OnceFunc(h.s.give)}, size, nil
}

// turnReader gives the cache's turn back when closed.
type turnReader struct {
	io.ReadCloser
	give func()
}

func (r *turnReader) Close() error {
	defer r.give()
	return r.ReadCloser.Close()
}

// VerifyCommit is Source.VerifyCommit on the shared cache.
func (h *Handle) VerifyCommit(ctx context.Context, rev string, t Trust) (string, error) {
	if err := h.s.take(ctx, "verify "+gitrev.Short(rev)+" of"); err != nil {
		return "", err
	}
	defer h.s.give()
	return h.s.cache.VerifyCommit(ctx, rev, t)
}
