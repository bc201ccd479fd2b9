package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// errFailedRevision means the followed ref points at a revision whose
// release was rolled back; it is not applied again until the repo moves on.
var errFailedRevision = errors.New("revision failed before; waiting for the deploy repo to move on")

// errSuspended means a person took manual control: the plan is computed and
// reported, nothing is applied.
var errSuspended = errors.New("reconciliation is suspended")

// Engine reconciles one app directory with one desired state file. It is
// used by one goroutine at a time; the caller holds the directory's Lock
// around Sync.
type Engine struct {
	Layout   Layout
	Path     string // the desired state file in the deploy repo
	Repo     Repo
	Download Downloader
	Switcher Switcher // nil: stop once release/current.conf is written
	Log      *slog.Logger
	Now      func() time.Time
	Metrics  *Metrics // nil: none
	// Verify, if set, must accept the commit before anything of it is
	// read (--verify-keyring, --verify-ssh-allowed-signers).
	Verify Verifier
	Keep   int // releases kept in release/ after a switch; 0: keep all
	// Decrypter opens a config whose cfg.path ends in .age; nil: such a
	// config is an error (ErrNoDecrypter).
	Decrypter Decrypter
	// Classify sorts errors into retry and needs-a-person; nil: Classify.
	Classify Classifier
	// HostID places this host in rollouts (--host-id); "": the host name.
	HostID string
	// Hooks are run around a switch to another release (--pre-switch,
	// --post-switch, --on-rollback); the zero value runs none.
	Hooks Hooks
	// Notify is told about applied, rolled back, failed, untrusted, drift
	// and deferred passes; nil: nobody.
	Notify Notifier
	// Windows holds deploys back while closed (--window, --deny-window);
	// nil: always open. IgnoreWindows deploys anyway (sync
	// --ignore-windows), with a warning.
	Windows       Windows
	IgnoreWindows bool
	ignoreOnce    bool // this pass's: a request from `sync --ignore-windows`
	// Exits says what an exit of the app brings (--crash-loop, --exec '').
	Exits ExitPolicy

	startHold time.Time // a dead app is not started before this (restart backoff)

	digests  digestCache
	blobs    blobCache  // what passes derived from committed files, per commit
	seen     *appSeen   // this pass's answer about the app (running)
	lastConf *LocalConf // what this engine last wrote or found applied
	heldConf *LocalConf // a hand edit whose pre-switch hook failed with nothing to put back
	verified string     // the last commit whose signature was logged
	localErr string     // the last error of ApplyLocal that was notified
}

// Verifier checks that a commit is signed by a trusted key.
type Verifier interface {
	VerifyCommit(ctx context.Context, rev string) (signer string, err error)
}

// errUntrusted marks a commit whose signature is missing or not trusted:
// nothing of it is applied.
var errUntrusted = errclass.New(errclass.NeedsPerson, "untrusted commit")

// Outcome says what a Sync did.
type Outcome struct {
	Result  string // one of the Poll* constants
	Rev     string
	Version string
	plan    Plan
	drift   bool // the repo had not moved, the directory had: put back
	// Class sorts the pass's error (empty without one, and for a failed
	// revision, a suspension or a deferral, which are states).
	Class ErrorClass
	// Wave is this host's place in the desired file's rollout; nil
	// without a rollout block, or when the pass ended before reading it.
	Wave        *Wave
	desiredRead bool
	// Opens is when the deploy windows open, for a deferred pass (zero:
	// not within a year).
	Opens time.Time
}

// isState reports whether err is a pass that applied nothing on purpose:
// a failed revision, a suspension, a deferral. Those are states, shown on
// their own, not errors: no class, no backoff, no last_error.
func isState(err error) bool {
	return errors.Is(err, errFailedRevision) || errors.Is(err, errSuspended) || errors.Is(err, ErrDeferred)
}

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return discardLog
	}
	return e.Log
}

// Suspended reports whether a person has taken manual control.
func (e *Engine) Suspended() bool {
	s, err := e.Layout.loadSuspended()
	return err == nil && s != nil
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now().UTC()
	}
	return e.Now().UTC()
}

// Diff runs the steps of a sync dry (pass.go): it observes and plans, and
// says what the sync would do, blocked or not, without downloading,
// writing or signalling anything, and without the directory's lock.
func (e *Engine) Diff(ctx context.Context) (Plan, error) {
	st, err := e.Layout.LoadState()
	if err != nil {
		return Plan{}, err
	}
	p := &pass{ctx: ctx, st: &st, dry: true}
	err = e.run(p)
	plan := p.plan
	plan.blockedBy, plan.judging = p.blocked, p.judging
	return plan, err
}

// makePlan plans; without a switcher, links and process are not this
// engine's business and are left out.
func (e *Engine) makePlan(src desiredAt, act actual) (Plan, error) {
	if e.Switcher == nil {
		act.Links, act.AppStale = nil, false
	} else {
		pid, ok := e.running(e.Layout.BinFile(src.Desired.Version))
		act.AppPID, act.AppStale = pid, !ok && !(pid == 0 && e.startHeld())
	}
	p, err := planFrom(e.Layout, src, act)
	switch {
	case e.Switcher == nil:
		p.links, p.doSwitch = nil, false
	case p.doSwitch:
		p.process = e.Switcher.Describe()
	}
	return p, err
}

// readDesiredAt reads the desired file at rev and what this host is to
// run of it (see place).
func (e *Engine) readDesiredAt(ctx context.Context, rev string, st *State) (desiredAt, error) {
	return readDesiredAt(ctx, e.Repo, e.Decrypter, &e.blobs, rev, e.Path, func(d Desired) (Desired, *Wave) { return e.place(d, st) })
}

// fetchVerified fetches head and, with a Verifier, refuses a commit whose
// signature is not trusted before anything of it is read.
func (e *Engine) fetchVerified(ctx context.Context, head string) (string, error) {
	rev, err := e.Repo.Fetch(ctx, head)
	if err != nil || e.Verify == nil {
		return rev, err
	}
	signer, err := e.Verify.VerifyCommit(ctx, rev)
	if err != nil {
		e.Metrics.untrusted()
		return rev, fmt.Errorf("%w: %w", errUntrusted, err)
	}
	if e.verified != rev {
		e.log().Info("commit signature verified", "rev", short(rev), "signer", signer)
		e.verified = rev
	}
	return rev, nil
}

// Sync runs one pass: observe, plan, apply, and record the outcome in the
// state file. The error, if any, says which step failed and why.
//
// It takes the requests handed over to the directory's agent (request.go)
// and answers them with its outcome; one asking to ignore the deploy
// windows makes this pass ignore them.
func (e *Engine) Sync(ctx context.Context) (Outcome, error) {
	reqs := e.takeRequests()
	out, err := e.syncOnce(ctx)
	if ctx.Err() == nil { // a stopped pass answers nothing: the command does its own
		e.Layout.answer(reqs, out, err)
	}
	return out, err
}

func (e *Engine) syncOnce(ctx context.Context) (Outcome, error) {
	start := time.Now()
	e.seen = nil // what /proc said is this pass's, not the last one's
	st, err := e.Layout.LoadState()
	if err != nil {
		return Outcome{Result: PollError}, err
	}
	out, err := e.sync(ctx, &st)
	if err != nil && ctx.Err() != nil && !isUnhealthy(err) {
		// Stopped (the agent is stopping): a stop is no error of the
		// pass. A switch under way was finished or undone (the
		// switcher's critical section); its judgement is the next
		// agent's (st.Switch).
		e.log().Info("pass stopped: the agent is stopping", "rev", short(out.Rev), "result", out.Result)
		if serr := e.Layout.saveState(st); serr != nil {
			e.log().Error("save state", "err", serr)
		}
		return out, err
	}
	if err != nil && !isState(err) {
		out.Class = e.classify(err)
	}
	prev := st.LastError
	e.record(&st, out, err)
	e.recordRollout(&st, out)
	// The metrics first: whoever sees this pass in the state file (status,
	// GET /status) finds its metrics set too.
	e.Metrics.pass(out, &st, time.Since(start), err, e.now())
	e.Metrics.rollout(st.Rollout, e.hostID())
	e.Metrics.setAppUp(e.appUp())
	if serr := e.Layout.saveState(st); serr != nil && err == nil {
		err = serr
	}
	if ctx.Err() == nil {
		e.tellError(prev, &st, out, err)
	}
	return out, err
}

// skipFailed is a pass whose head failed before: nothing of it is applied,
// but the release that runs is still looked after (links, current.conf, a
// dead app started again), unless a person has taken manual control.
func (e *Engine) skipFailed(ctx context.Context, st *State, head string, f Failed) (Outcome, error) {
	out := Outcome{Result: PollSkipped, Rev: head, Version: f.Version}
	if st.Suspended == nil && e.Switcher != nil {
		if _, err := e.applyLocal(ctx, st); err != nil {
			out.Result = PollError
			return out, fmt.Errorf("keep the running release up while revision %s is failed: %w", short(head), err)
		}
	}
	return out, fmt.Errorf("revision %s (version %s): %w (it failed: %s); once the cause is fixed outside the release, `reconciler retry --dir %s` tries it again",
		short(head), f.Version, errFailedRevision, f.Reason, e.Layout.Dir)
}

// record keeps the outcome of a pass in the state.
func (e *Engine) record(st *State, out Outcome, err error) {
	now := e.now()
	rev := out.Rev
	if rev == "" && st.LastPoll != nil { // the head is unknown: keep the last one seen
		rev = st.LastPoll.Revision
	}
	st.LastPoll = &Poll{Time: now, Result: out.Result, Revision: rev}
	if isState(err) {
		st.LastError = nil // states shown on their own in status, not errors
		return
	}
	if err != nil {
		passes := 1
		if prev := st.LastError; prev != nil && prev.Class == out.Class {
			passes = prev.Passes + 1
		}
		st.LastError = &ErrorInfo{Time: now, Message: err.Error(), Revision: out.Rev, Class: out.Class, Passes: passes}
		return
	}
	st.LastError = nil
	if st.judging(out.Rev) {
		return // never taken as applied before its verdict
	}
	if out.Result == PollApplied || (out.Result == PollUnchanged && st.Applied == nil) ||
		(st.Applied != nil && st.Applied.Revision != out.Rev) {
		st.Applied = &Applied{Revision: out.Rev, Version: out.Version, Time: now}
	}
}

// appUp reports whether the app process of the applied release runs (as
// release/current.conf names it); always false without a switcher.
func (e *Engine) appUp() bool {
	if e.Switcher == nil {
		return false
	}
	conf, err := e.Layout.ReadLocalConf()
	if err != nil {
		return false
	}
	pid, ok := e.running(conf.BinFile)
	return pid > 0 && ok
}

// appSeen is what one scan of /proc said about the app in this pass.
type appSeen struct {
	bin string
	pid int
	ok  bool
}

// running asks the switcher whether the app runs bin, once per pass: a
// scan of /proc reads every process on the machine (two thirds of a
// no-change poll's CPU, measured), and a pass that switched nothing asks
// the same question in its plan and for reconciler_app_up. A switch, or
// anything else that may start or stop the app, forgets the answer
// (forgetSeen).
func (e *Engine) running(bin string) (int, bool) {
	if s := e.seen; s != nil && s.bin == bin {
		return s.pid, s.ok
	}
	pid, ok := e.Switcher.Running(bin)
	e.seen = &appSeen{bin: bin, pid: pid, ok: ok}
	return pid, ok
}

// forgetSeen drops this pass's answer about the app: the process may
// change now.
func (e *Engine) forgetSeen() { e.seen = nil }

func isUnhealthy(err error) bool {
	var u interface{ Unhealthy() bool }
	return errors.As(err, &u) && u.Unhealthy()
}
