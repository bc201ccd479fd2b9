package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/reconciler-dev/reconciler/internal/backoff"
)

// Schedule says when the next poll is due (a robfig/cron schedule).
type Schedule interface {
	Next(time.Time) time.Time
}

// DefaultMaxBackoff is the longest wait between polls after repeated
// failures when Agent.MaxBackoff is 0 (run's --max-backoff default).
const DefaultMaxBackoff = 15 * time.Minute

// Agent is the long-running reconciler of `reconciler run`. One goroutine,
// the one in Run, owns the engine; schedule ticks, webhooks and the file
// watcher only poke it through buffered channels of one, so bursts of
// triggers coalesce into one poll and nothing runs concurrently.
type Agent struct {
	Engine     Driven
	Metrics    *Metrics
	Schedule   Schedule
	Jitter     time.Duration // random extra delay per poll, up to this
	MinBackoff time.Duration // first wait after a failure; default 1s
	MaxBackoff time.Duration // default DefaultMaxBackoff
	Log        *slog.Logger
	// Rand returns a number in [0, n), for the schedule's jitter and the
	// backoff's; default math/rand/v2.
	Rand func(n int64) int64
	// AfterPoll, if set, is called after every poll, whatever its
	// outcome (the agent's self-update looks at its own file then). It
	// must not block.
	AfterPoll func()

	trigger    chan struct{}
	local      chan struct{}
	exits      chan AppExit
	backoff    backoffState
	heldLogged string // the last skipped or suspended pass logged above debug
	// personErrAt: the revision of the last poll, when it failed on an
	// error that needs a person (logged at ERROR once per revision).
	personErrAt *string
}

// Driven is what the agent drives (*Engine).
type Driven interface {
	Sync(ctx context.Context) (Outcome, error)
	ApplyLocal(ctx context.Context) error
	LocalInSync() bool
	Suspended() bool
	// AppExited takes an exit of the app and says when to start it
	// again (ok false: not at all); RestartApp starts it.
	AppExited(ctx context.Context, x AppExit) (wait time.Duration, ok bool)
	RestartApp(ctx context.Context) error
}

// NewAgent returns an agent ready to Run.
func NewAgent(e Driven, s Schedule, log *slog.Logger) *Agent {
	return &Agent{Engine: e, Schedule: s, Log: log, trigger: make(chan struct{}, 1), local: make(chan struct{}, 1),
		exits: make(chan AppExit, exitQueue)}
}

// Trigger asks for a poll now (POST /reconcile). It never blocks; triggers
// that arrive while one is pending are merged into it.
func (a *Agent) Trigger() { poke(a.trigger) }

// LocalChanged tells the agent release/current.conf may have been edited
// (the file watcher).
func (a *Agent) LocalChanged() { poke(a.local) }

// exitQueue bounds the exits waiting for the loop; an exit watch sends
// one per process that died, and a dead app is started again at most
// every second after the first of a streak.
const exitQueue = 16

// AppExited tells the agent the app process exited (the exit watch). It
// never blocks; an exit that finds the queue full is dropped, with a log
// line.
func (a *Agent) AppExited(x AppExit) {
	select {
	case a.exits <- x:
	default:
		a.log().Error("app exited; too many exits queued, this one is not counted", "pid", x.PID, "status", x.Status)
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run polls at once, then on the schedule (plus jitter), or after a backoff
// when the last poll failed, until ctx ends. In-flight work is cancelled
// through ctx; Run returns when it has stopped.
func (a *Agent) Run(ctx context.Context) error {
	a.backoff = backoffState{Exp: backoff.Exp{Min: a.MinBackoff, Max: a.MaxBackoff, Rand: a.Rand}}
	if a.backoff.Max <= 0 {
		a.backoff.Max = DefaultMaxBackoff
	}
	a.applyLocal(ctx) // repair a half-done switch before anything else
	next := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	restart := time.NewTimer(time.Hour) // starts a dead app again
	restart.Stop()
	defer restart.Stop()
	for {
		timer.Reset(time.Until(next)) // Go 1.23+: Reset drops a stale tick
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-a.trigger:
			a.log().Info("poll triggered")
		case <-a.local:
			if !a.onLocalChange(ctx) {
				continue // our own write, or manual control: no poll
			}
		case x := <-a.exits:
			a.onExit(ctx, x, restart)
			continue
		case <-restart.C:
			if err := a.Engine.RestartApp(ctx); err != nil && ctx.Err() == nil {
				a.log().Error("app not started again", "err", err)
			}
			continue
		}
		next = a.poll(ctx)
	}
}

// poll runs one pass and returns when the next one is due.
func (a *Agent) poll(ctx context.Context) time.Time {
	if a.AfterPoll != nil {
		defer a.AfterPoll()
	}
	out, err := a.Engine.Sync(ctx)
	now := time.Now()
	if ctx.Err() != nil {
		return now
	}
	if err != nil && out.Class == ClassNeedsPerson {
		// No wait fixes it; the fix is a commit or a person on this host:
		// look again on the schedule (one cheap ref listing), no backoff.
		a.backoff.Reset()
		a.Metrics.SetBackoff(0)
		a.logNeedsPerson(ctx, out, err)
		return a.Schedule.Next(now).Add(a.jitter())
	}
	a.personErrAt = nil
	if err != nil && !isState(err) {
		wait := a.backoff.Fail()
		a.Metrics.SetBackoff(wait)
		a.log().Error("poll failed", "err", err, "rev", short(out.Rev), "class", ClassRetry, "failures", a.backoff.Failures(), "retry_in", wait)
		return now.Add(wait)
	}
	a.backoff.Reset()
	a.Metrics.SetBackoff(0)
	switch {
	case err != nil:
		a.logHeld(out, err)
	case out.Result == PollApplied:
		a.log().Info("applied", "rev", short(out.Rev), "version", out.Version, "drift", out.drift)
	default:
		a.log().Debug("poll", "result", out.Result, "rev", short(out.Rev))
	}
	next := a.Schedule.Next(now)
	if errors.Is(err, ErrDeferred) && !out.Opens.IsZero() && out.Opens.Before(next) {
		next = out.Opens // deploy at the window's start, not at the first poll after it
	}
	return next.Add(a.jitter())
}

// logNeedsPerson logs an error that needs a person at ERROR at its first
// poll of a revision; the polls that find it again at that revision log it
// at DEBUG (status, metrics and the one notification show it meanwhile).
// Any other outcome in between makes the next one news again.
func (a *Agent) logNeedsPerson(ctx context.Context, out Outcome, err error) {
	level := slog.LevelError
	if a.personErrAt != nil && *a.personErrAt == out.Rev {
		level = slog.LevelDebug
	}
	a.personErrAt = &out.Rev
	a.log().Log(ctx, level, "poll failed; needs a person", "err", err, "rev", short(out.Rev), "class", out.Class)
}

// logHeld logs a pass that applied nothing on purpose (a failed revision, a
// suspension, a deferral) once per revision, not every poll: it is a state,
// shown in status and metrics, not news.
func (a *Agent) logHeld(out Outcome, err error) {
	key := out.Result + " " + out.Rev
	if key == a.heldLogged {
		a.log().Debug("poll", "result", out.Result, "rev", short(out.Rev))
		return
	}
	a.heldLogged = key
	switch {
	case out.Result == PollDeferred:
		a.log().Info("deferred: outside the deploy windows", "rev", short(out.Rev), "from", fromVersion(out.plan),
			"version", out.Version, "opens", out.Opens)
	case out.Result != PollSuspended:
		a.log().Warn("not applying a revision that failed before", "rev", short(out.Rev), "version", out.Version, "reason", err)
	case out.plan.Changes():
		a.log().Info("suspended: would apply", "rev", short(out.Rev), "from", fromVersion(out.plan), "version", out.Version,
			"downloads", out.plan.downloads(), "reason", err)
	default:
		a.log().Info("suspended; the deploy repo has nothing new", "rev", short(out.Rev))
	}
}

// fromVersion is the version a plan starts from, for a log line.
func fromVersion(p Plan) string {
	if p.from == nil {
		return "(none)"
	}
	return p.from.Version
}

// onLocalChange handles a change of release/current.conf. When suspended,
// the person in control is obeyed: the file is applied as the watcher
// alone would. Otherwise git is the truth, and a change the agent did not
// make is drift: poll, which puts it back. It reports whether to poll.
func (a *Agent) onLocalChange(ctx context.Context) bool {
	if a.Engine.LocalInSync() {
		return false
	}
	if a.Engine.Suspended() {
		a.applyLocal(ctx)
		return false
	}
	a.log().Info("release/current.conf changed outside the agent: polling")
	return true
}

// onExit hands an exit of the app to the engine and sets the restart
// timer as it says: at once, after the backoff, or not at all.
func (a *Agent) onExit(ctx context.Context, x AppExit, restart *time.Timer) {
	wait, ok := a.Engine.AppExited(ctx, x)
	if !ok {
		restart.Stop()
		return
	}
	if wait > 0 {
		a.log().Info("starting the app again after a backoff", "in", wait)
	}
	restart.Reset(wait)
}

func (a *Agent) applyLocal(ctx context.Context) {
	if err := a.Engine.ApplyLocal(ctx); err != nil && ctx.Err() == nil {
		a.log().Error("release/current.conf not applied", "err", err)
	}
}

func (a *Agent) jitter() time.Duration {
	if a.Jitter <= 0 {
		return 0
	}
	rnd := a.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	return time.Duration(rnd(int64(a.Jitter)))
}

func (a *Agent) log() *slog.Logger {
	if a.Log == nil {
		return discardLog
	}
	return a.Log
}
