package reconcile

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// AppExit is one exit of the app process, as the state file keeps it: a
// process of the directory ended and none served after it (a handover is
// no exit). Exits are kept across restarts of the agent, so the crash-loop
// rule counts them whatever happened to the agent.
type AppExit struct {
	Time    time.Time `json:"time"`
	PID     int       `json:"pid"`
	BinFile string    `json:"bin_file"`
	Version string    `json:"version,omitempty"`
	// Status says how it ended: "exit code 1", "signal 9 (killed)", or
	// "unknown (...)" for a process the agent did not start.
	Status string `json:"status"`
	// LogTail is the end of app.log when it exited (logs and
	// notifications only).
	LogTail string `json:"-"`
}

// CrashLoop is the crash-loop rule (--crash-loop N/D): a release whose
// app exits Exits times within Window of its switch is failed and
// switched back. The zero value is off.
type CrashLoop struct {
	Exits  int
	Window time.Duration
}

// DefaultCrashLoop is --crash-loop's default, 3/10m.
var DefaultCrashLoop = CrashLoop{Exits: 3, Window: 10 * time.Minute}

// ParseCrashLoop reads --crash-loop: "N/DURATION" (e.g. "3/10m"), or "0"
// for off.
func ParseCrashLoop(s string) (CrashLoop, error) {
	if strings.TrimSpace(s) == "0" {
		return CrashLoop{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	exits, err := strconv.Atoi(n)
	if !ok || err != nil || exits < 1 {
		return CrashLoop{}, fmt.Errorf("%q: want N/DURATION (e.g. 3/10m: 3 exits within 10 minutes of a switch), or 0 for off", s)
	}
	window, err := time.ParseDuration(d)
	if err != nil || window <= 0 {
		return CrashLoop{}, fmt.Errorf("%q: the window %q is not a positive duration (e.g. 10m)", s, d)
	}
	return CrashLoop{Exits: exits, Window: window}, nil
}

// On reports whether the rule is in force.
func (c CrashLoop) On() bool { return c.Exits > 0 && c.Window > 0 }

func (c CrashLoop) String() string {
	if !c.On() {
		return "0"
	}
	w := c.Window.String() // "10m0s": said as a person writes it, "10m"
	if strings.HasSuffix(w, "m0s") {
		w = strings.TrimSuffix(w, "0s")
	}
	if strings.HasSuffix(w, "h0m") {
		w = strings.TrimSuffix(w, "0m")
	}
	return fmt.Sprintf("%d/%s", c.Exits, w)
}

// ExitPolicy is what the agent does when the app exits.
type ExitPolicy struct {
	CrashLoop CrashLoop
	// Supervised: the app has a supervisor of its own (--exec ''): the
	// agent never starts it after an exit, nor when it finds it down;
	// its exits still count.
	Supervised bool
}

// Restart backoff while an app keeps dying: at once after the first exit
// of a streak, then 1 s doubling to 5 min. A streak ends when the app ran
// for exitStreakGap without exiting.
const (
	restartMin    = time.Second
	restartMax    = 5 * time.Minute
	exitStreakGap = 10 * time.Minute
	maxExits      = 32 // exits kept in the state file
)

// restartDelay is the wait before starting the app again after the
// streak-th exit of a streak (1 for the first).
func restartDelay(streak int) time.Duration {
	if streak <= 1 {
		return 0
	}
	d := restartMin
	for i := 2; i < streak && d < restartMax; i++ {
		d *= 2
	}
	return min(d, restartMax)
}

// streak counts the exits of the streak the last exit of exits belongs
// to: back from it while each exit is within exitStreakGap of the next.
func streak(exits []AppExit) int {
	n := 0
	for i := len(exits) - 1; i >= 0; i-- {
		if i < len(exits)-1 && exits[i+1].Time.Sub(exits[i].Time) > exitStreakGap {
			break
		}
		n++
	}
	return n
}

// recentExits are the exits of the last exitStreakGap before now, oldest
// first.
func (s *State) recentExits(now time.Time) []AppExit {
	var out []AppExit
	for _, x := range s.Exits {
		if now.Sub(x.Time) <= exitStreakGap {
			out = append(out, x)
		}
	}
	return out
}

// AppExited takes an exit of the app (the agent's exit watch): it is
// saved in the state file, logged as `app exited` with its status and the
// end of app.log, counted, and notified once per streak (app_exited). A
// release whose app exits --crash-loop times within the window of its
// switch is failed and switched back (crashLoopBack). Otherwise it says
// when to start the app again (RestartApp): at once, then with backoff;
// ok is false when the agent must not (a supervised app, a suspension, a
// switch back done).
func (e *Engine) AppExited(ctx context.Context, x AppExit) (wait time.Duration, ok bool) {
	st, err := e.Layout.LoadState()
	if err != nil {
		e.log().Error("app exited; the state file cannot be read", "pid", x.PID, "status", x.Status, "err", err)
		return 0, false
	}
	if x.Version == "" {
		x.Version = appdir.Version(x.BinFile)
	}
	st.Exits = append(st.Exits, x)
	if len(st.Exits) > maxExits {
		st.Exits = st.Exits[len(st.Exits)-maxExits:]
	}
	n := streak(st.Exits)
	// Saved before anyone is told (log, metric, event): whoever sees the
	// exit finds it in the state file, and a next agent counts it.
	if err := e.Layout.saveState(st); err != nil {
		e.log().Error("save state", "err", err)
	}
	e.log().Warn("app exited", "pid", x.PID, "version", x.Version, "status", x.Status, "streak", n, "log", x.LogTail)
	e.Metrics.appExited()
	if n == 1 {
		e.emit(Event{Kind: EventAppExited, FromVersion: x.Version, ToVersion: x.Version, Revision: e.revisionOf(&st, x),
			Error: "the app exited: " + x.Status, Detail: x.LogTail, Count: n, Time: x.Time})
	}
	if loop := e.crashLoop(&st, x); loop != nil {
		e.crashLoopBack(ctx, &st, loop)
		return 0, false
	}
	if e.Exits.Supervised || st.Suspended != nil {
		return 0, false
	}
	wait = restartDelay(n)
	e.startHold = e.now().Add(wait)
	return wait, true
}

// RestartApp starts the app again after an exit, when it still does not
// run (ApplyLocal: release/current.conf says which release).
func (e *Engine) RestartApp(ctx context.Context) error {
	e.startHold = time.Time{}
	if e.Exits.Supervised || e.Suspended() {
		return nil
	}
	if conf, err := e.Layout.ReadLocalConf(); err == nil {
		if pid, ok := e.Switcher.Running(conf.BinFile); ok && pid > 0 {
			return nil // started meanwhile (a poll), or by its supervisor
		}
	}
	if err := e.ApplyLocal(ctx); err != nil {
		return err
	}
	e.log().Info("app started again after its exit")
	return nil
}

// startHeld reports whether a dead app is not to be started now: it has a
// supervisor of its own, or it exited and its restart waits for the
// backoff.
func (e *Engine) startHeld() bool {
	return e.Exits.Supervised || e.now().Before(e.startHold)
}

// revisionOf is the revision of the release x ran, when the state knows.
func (e *Engine) revisionOf(st *State, x AppExit) string {
	if r := st.Switch; r != nil && r.To.BinFile == x.BinFile {
		return r.Revision
	}
	if st.Applied != nil && st.Applied.Version == x.Version {
		return st.Applied.Revision
	}
	return ""
}

// crashLoop returns the exits that make x's release a crash loop: the
// release of the last switch, not yet failed, whose app exited
// CrashLoop.Exits times within CrashLoop.Window of the switch. nil when
// the rule is off or not met.
func (e *Engine) crashLoop(st *State, x AppExit) []AppExit {
	c, r := e.Exits.CrashLoop, st.Switch
	if !c.On() || st.Suspended != nil || r == nil || r.Verdict == VerdictFailed || x.BinFile != r.To.BinFile {
		return nil
	}
	if r.From != nil && r.From.BinFile == r.To.BinFile {
		return nil // the app started again on its release: no switch to undo
	}
	var in []AppExit
	for _, ex := range st.Exits {
		if ex.BinFile == r.To.BinFile && !ex.Time.Before(r.Started) && ex.Time.Sub(r.Started) <= c.Window {
			in = append(in, ex)
		}
	}
	if len(in) < c.Exits {
		return nil
	}
	return in
}

// crashLoopBack fails the release of the last switch for its crash loop,
// as a release that did not come up is failed: its revision is recorded
// failed, release/current.conf and the links go back to the release that
// ran before (the state saved first, so an agent killed meanwhile finds
// the file naming the release to run), the on-rollback hook runs, and
// rolled_back is told with the exits quoted. A first release has nothing
// to go back to: release/current.conf is removed and the app stays down.
func (e *Engine) crashLoopBack(ctx context.Context, st *State, exits []AppExit) {
	r, now := st.Switch, e.now()
	reason := fmt.Sprintf("crash loop: its app exited %d times within %s of the switch (--crash-loop %s): %s",
		len(exits), exits[len(exits)-1].Time.Sub(r.Started).Round(time.Second), e.Exits.CrashLoop, quoteExits(r.Started, exits))
	r.Verdict, r.Reason, r.Judged = VerdictFailed, reason, now
	st.markFailed(Failed{Revision: r.Revision, Version: r.To.Version, Reason: reason, Time: now})
	e.Metrics.switched(false)
	e.startHold = time.Time{}
	e.log().Error("release failed: crash loop; switching back", "version", r.To.Version, "rev", short(r.Revision),
		"to", r.From.version(), "exits", len(exits), "reason", reason)
	if r.From == nil {
		e.dropConf(r.To.Version)
		e.lastConf = nil
	} else {
		e.restoreConf(r.From)
		e.lastConf = r.From
		if r.From.Revision != "" {
			st.Applied = &Applied{Revision: r.From.Revision, Version: r.From.Version, Time: now}
		}
	}
	if err := e.Layout.saveState(*st); err != nil {
		e.log().Error("save state", "err", err)
	}
	// As for any rollback: from the release that failed to the one put back.
	ev := Event{Kind: EventRolledBack, FromVersion: r.To.Version, ToVersion: r.From.version(), Revision: r.Revision, Error: reason}
	if r.From != nil {
		if err := e.switchBack(ctx, st, r); err != nil {
			ev.Error += "; the switch back failed too: " + err.Error()
		}
	}
	if err := e.Layout.saveState(*st); err != nil {
		e.log().Error("save state", "err", err)
	}
	e.emit(ev)
}

// switchBack points the links at r.From and gets its app running, then
// runs the on-rollback hook, as after any switch back.
func (e *Engine) switchBack(ctx context.Context, st *State, r *SwitchRecord) error {
	e.forgetSeen()
	err := e.Switcher.Switch(ctx, appdir.Target{Bin: r.From.BinFile, Cfg: r.From.CfgFile, Revision: r.From.Revision})
	if err != nil {
		e.log().Error("switch back after a crash loop", "version", r.From.Version, "err", err)
	} else {
		e.log().Warn("switched back after a crash loop", "version", r.From.Version, "failed", r.To.Version)
	}
	if e.Hooks.OnRollback != nil {
		hs := &hookedSwitch{from: r.From.BinFile, fromRev: r.From.Revision,
			to: appdir.Target{Bin: r.To.BinFile, Cfg: r.To.CfgFile, Revision: r.Revision}}
		st.beginHooks(hs)
		from, to := hs.back()
		if herr := e.runHook(ctx, st, HookOnRollback, hs, from, to); herr != nil {
			e.log().Error("hook failed; nothing is rolled back for it", "hook", HookOnRollback, "rev", short(r.Revision), "err", herr)
			e.emit(Event{Kind: EventError, FromVersion: r.To.Version, ToVersion: r.From.Version, Revision: r.From.Revision, Error: herr.Error()})
		}
		st.failHooks()
	}
	return err
}

// quoteExits says each exit in a few words: "+3s pid 4242 exit code 1".
func quoteExits(since time.Time, exits []AppExit) string {
	parts := make([]string, 0, len(exits))
	for _, x := range exits {
		parts = append(parts, fmt.Sprintf("+%s pid %d %s", x.Time.Sub(since).Round(100*time.Millisecond), x.PID, x.Status))
	}
	return strings.Join(parts, "; ")
}
