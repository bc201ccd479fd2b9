package selfupdate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// Repo is the deploy repo as the updater reads it (*gitsrc.Source).
type Repo interface {
	Head(ctx context.Context) (string, error)
	Fetch(ctx context.Context, want string) (string, error)
	ReadFile(ctx context.Context, rev, path string) ([]byte, error)
}

// Reading is a way into the deploy repo: the repo, and the check of a
// commit's signature (--verify-*; nil: commits are not verified).
type Reading struct {
	Repo   Repo
	Verify func(ctx context.Context, rev string) error
}

// ErrAgentCfg is an agent file with a cfg: the agent takes no config file
// from the deploy repo (its settings are its flags).
var ErrAgentCfg = errors.New(`key "cfg": the agent's file takes no cfg (the agent's settings are its flags and environment)`)

// Updater follows the agent file of the deploy repo and hands the agent
// over to the release it names. One goroutine (Run) owns it.
type Updater struct {
	Repo Repo
	// Verify checks the commit's signature (--verify-*); nil: commits
	// are not verified.
	Verify func(ctx context.Context, rev string) error
	// Shared, when set, is the app's own reading of the same repo and ref
	// (--agent-repo and --agent-ref left to the app's): Poll reads through
	// it, its Head answering with the head the app's poll just saw
	// (gitsrc.Shared.Follower) and its objects the app's cache, so that a
	// poll of the agent costs the git host one ref listing, as it did
	// without --agent-path. Observe, the successor's confirming poll,
	// always reads through Repo: it must reach the repo itself.
	Shared   *Reading
	Path     string // the agent file, {hostname} expanded
	HostID   string // this host's id in a rollout
	Download *artifacts.Fetcher
	Store    *agentdir.Dir
	// Running is the version of the agent that runs, Revision the commit
	// it was built from.
	Running, Revision string
	// Report receives the agent's status at Run's start and when it
	// changes (status files: reconcile.Layout.WriteAgentStatus); nil:
	// none. An error is logged, and the status reported again next time.
	Report         func(reconcile.AgentStatus) error
	ConfirmTimeout time.Duration
	// Launch says how a successor is started: args, environment,
	// working directory and the listener handed over.
	Launch  Launch
	Notify  func(reconcile.Event) // nil: nobody is told
	Metrics *Metrics
	Log     *slog.Logger

	trigger  chan struct{}
	noted    string // the last state logged once (a failed version, a bad file)
	lastRev  string
	wave     *reconcile.Wave // this host's place in the agent file's rollout, nil without one
	reported []byte          // the status last written
	verified []string        // the commits whose signature Poll checked (newest last, at most maxVerified)
}

// maxVerified bounds the commits Poll remembers as verified: the head
// moves forward, so the last few spare a check at every poll; an older
// one coming back (a force-push) is checked again.
const maxVerified = 8

// Trigger asks for a look at the agent file now; it never blocks, and
// triggers that arrive while one is pending merge.
func (u *Updater) Trigger() {
	select {
	case u.trigger <- struct{}{}:
	default:
	}
}

// Init prepares u for Trigger and Run.
func (u *Updater) Init() *Updater {
	u.trigger = make(chan struct{}, 1)
	if u.Log == nil {
		u.Log = slog.New(slog.DiscardHandler)
	}
	return u
}

// Run looks at the agent file at each Trigger until ctx ends, or until it
// handed the agent over: then it returns the successor, which runs and
// has confirmed; the caller stops this agent and calls Successor.Release.
func (u *Updater) Run(ctx context.Context) (*Successor, error) {
	u.report()
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-u.trigger:
		}
		s, err := u.Poll(ctx)
		u.report()
		if s != nil {
			return s, nil
		}
		if err != nil && ctx.Err() == nil {
			u.once(ctx, "error "+err.Error(), slog.LevelError, "agent update: poll failed", "err", err)
		}
	}
}

// Poll reads the agent file at the branch's head and, when it names
// another version than the running one that did not fail here before,
// installs it verified and hands over to it.
func (u *Updater) Poll(ctx context.Context) (*Successor, error) {
	r := Reading{Repo: u.Repo, Verify: u.Verify}
	if u.Shared != nil {
		r = *u.Shared
	}
	rev, d, w, err := u.observe(ctx, r, true)
	if err != nil {
		return nil, err
	}
	u.lastRev = rev
	u.setWave(w)
	if err := u.Store.Named(d.Version); err != nil {
		return nil, err
	}
	if err := u.Store.GoodPoll(u.Running); err != nil {
		u.Log.Warn("agent update: the good poll not recorded", "err", err)
	}
	if d.Version == u.Running {
		u.noted = ""
		return nil, nil
	}
	f, failed, err := u.Store.Failed(d.Version)
	if err != nil {
		return nil, err
	}
	if failed {
		u.Metrics.setFailed(d.Version)
		u.once(ctx, "failed "+d.Version, slog.LevelWarn, "agent update: not trying a version that failed here before (reconciler retry --agent tries it again)",
			"version", d.Version, "rev", short(rev), "reason", f.Reason)
		return nil, nil
	}
	u.Log.Info("agent update: new version", "from", u.Running, "version", d.Version, "rev", short(rev))
	bin, err := u.install(ctx, r.Repo, rev, d)
	if err != nil {
		return nil, err
	}
	if err := restart.CheckExecutable(bin); err != nil {
		return nil, u.failed(d.Version, rev, err)
	}
	s, err := u.handOver(ctx, bin, d.Version, rev)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var f *failure
		if errors.As(err, &f) {
			return nil, u.failed(d.Version, rev, err)
		}
		return nil, err
	}
	return s, nil
}

// Observe reads and verifies the head commit and returns it with this
// host's agent release (the rollout placed): what a confirming poll does,
// nothing written. It reads through Repo (a ref listing of its own) and
// checks the signature whatever Poll checked before.
func (u *Updater) Observe(ctx context.Context) (string, reconcile.Desired, error) {
	rev, d, _, err := u.observe(ctx, Reading{Repo: u.Repo, Verify: u.Verify}, false)
	return rev, d, err
}

// observe is Observe through r that also returns the host's place in the
// file's rollout (nil without a rollout block); remember: a commit whose
// signature was checked by an earlier call with remember is not checked
// again.
func (u *Updater) observe(ctx context.Context, r Reading, remember bool) (string, reconcile.Desired, *reconcile.Wave, error) {
	head, err := r.Repo.Head(ctx)
	if err != nil {
		return "", reconcile.Desired{}, nil, err
	}
	rev, err := r.Repo.Fetch(ctx, head)
	if err != nil {
		return "", reconcile.Desired{}, nil, err
	}
	if err := u.verify(ctx, r, rev, remember); err != nil {
		return rev, reconcile.Desired{}, nil, fmt.Errorf("agent file %s at %s: %w", u.Path, short(rev), err)
	}
	data, err := r.Repo.ReadFile(ctx, rev, u.Path)
	if err != nil {
		return rev, reconcile.Desired{}, nil, fmt.Errorf("agent file: %w", err)
	}
	d, err := reconcile.ParseDesired(u.Path, data)
	if err != nil {
		return rev, reconcile.Desired{}, nil, err
	}
	if d.Cfg != nil || (d.Rollout != nil && d.Rollout.From != nil && d.Rollout.From.Cfg != nil) {
		return rev, reconcile.Desired{}, nil, fmt.Errorf("%s: %w: %w", u.Path, reconcile.ErrInvalidDesired, ErrAgentCfg)
	}
	if d.Rollout == nil {
		return rev, d, nil, nil
	}
	_, failed, err := u.Store.Failed(d.Version)
	if err != nil {
		return rev, reconcile.Desired{}, nil, err
	}
	w := reconcile.WaveOf(&d, u.HostID, failed)
	return rev, d.Target(w), &w, nil
}

// verify checks rev's signature through r (nothing without --verify-*);
// with remember, once per commit: a commit verified stays verified (its
// hash covers its signature), a refused one is checked again next time.
func (u *Updater) verify(ctx context.Context, r Reading, rev string, remember bool) error {
	if r.Verify == nil || (remember && slices.Contains(u.verified, rev)) {
		return nil
	}
	if err := r.Verify(ctx, rev); err != nil {
		return err
	}
	if remember {
		u.verified = append(u.verified, rev)
		if len(u.verified) > maxVerified {
			u.verified = slices.Delete(u.verified, 0, len(u.verified)-maxVerified)
		}
	}
	return nil
}

// setWave records w, this host's place in the agent file's rollout (nil:
// none), and exports it with the state it gives the running version.
func (u *Updater) setWave(w *reconcile.Wave) {
	u.wave = w
	u.Metrics.setRollout(u.Path, w, rolloutState(w, u.Running))
}

// rolloutState is the state of a host whose agent runs version running
// in the rollout wave w places it: the states an app's host reports
// (fleetmetrics), for the agent.
func rolloutState(w *reconcile.Wave, running string) string {
	switch {
	case w == nil:
		return ""
	case w.Failed:
		return fleetmetrics.StateFailed
	case !w.In:
		return fleetmetrics.StateOut
	case w.Version == running:
		return fleetmetrics.StateApplied
	default:
		return fleetmetrics.StatePending
	}
}

// install makes the store hold version d's binary, verified, and returns
// its path. A version already there with the same bytes is not fetched
// again (a revert goes back without a download).
func (u *Updater) install(ctx context.Context, repo Repo, rev string, d reconcile.Desired) (string, error) {
	if !d.Bin.FromRepo() {
		path, err := u.Store.Fetch(ctx, u.Download, d.Version, d.Bin.Locator(), d.Bin.SHA256)
		if err != nil {
			return "", fmt.Errorf("agent %s: %w", d.Version, err)
		}
		return path, nil
	}
	data, err := repo.ReadFile(ctx, rev, d.Bin.Path)
	if err != nil {
		return "", fmt.Errorf("agent %s: bin: %w", d.Version, err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	if d.Bin.SHA256 != "" && d.Bin.SHA256 != want {
		return "", fmt.Errorf("agent %s: bin %s: %w: got sha256 %s, want %s", d.Version, d.Bin.Path, artifacts.ErrDigestMismatch, want, d.Bin.SHA256)
	}
	path, err := u.Store.Install(ctx, d.Version, bytes.NewReader(data), want)
	if err != nil {
		return "", fmt.Errorf("agent %s: %w", d.Version, err)
	}
	return path, nil
}

// failed records version v failed here, tells it and returns err.
func (u *Updater) failed(v, rev string, err error) error {
	if rerr := u.Store.Fail(v, err.Error()); rerr != nil {
		u.Log.Error("agent update: recording the failed version", "version", v, "err", rerr)
	}
	u.Metrics.setFailed(v)
	if w := u.wave; w != nil && w.In && w.Version == v { // this host's switch in the rollout failed: it stays on from
		f := *w
		f.In, f.Failed = false, true
		u.setWave(&f)
	}
	u.Log.Error("agent update failed; this agent carries on", "version", v, "rev", short(rev), "err", err)
	u.notify(reconcile.Event{Kind: reconcile.EventAgentFailed, FromVersion: u.Running, ToVersion: v, Revision: rev, Error: err.Error()})
	u.noted = "failed " + v
	return nil
}

func (u *Updater) notify(ev reconcile.Event) {
	if u.Notify != nil {
		ev.Time = time.Now()
		u.Notify(ev)
	}
}

// once logs msg at level the first time key is seen in a row, then at
// debug: a state is not news at every poll.
func (u *Updater) once(ctx context.Context, key string, level slog.Level, msg string, args ...any) {
	if key == u.noted {
		level = slog.LevelDebug
	}
	u.noted = key
	u.Log.Log(ctx, level, msg, args...)
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
