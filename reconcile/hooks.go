package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// HookKind names a hook as its flag does, without the dashes.
type HookKind string

// Hooks, in the order they may run around one switch.
const (
	HookPreSwitch  HookKind = "pre-switch"  // before any link moves; a failure fails the revision
	HookPostSwitch HookKind = "post-switch" // after a switch that came up healthy
	HookOnRollback HookKind = "on-rollback" // after the switcher switched back by itself
)

// HookRunner runs one hook command for the switch from the binary from
// ("" on a first start) to the release to (restart.Hook); nil means it
// exited 0 in time.
type HookRunner interface {
	Run(ctx context.Context, from string, to appdir.Target) error
}

// Hooks are the commands run around a switch to another release; a nil one
// is not configured.
type Hooks struct {
	PreSwitch, PostSwitch, OnRollback HookRunner
}

func (h Hooks) runner(k HookKind) HookRunner {
	switch k {
	case HookPreSwitch:
		return h.PreSwitch
	case HookPostSwitch:
		return h.PostSwitch
	case HookOnRollback:
		return h.OnRollback
	}
	return nil
}

func (h Hooks) any() bool { return h.PreSwitch != nil || h.PostSwitch != nil || h.OnRollback != nil }

// hookError is a hook that ran and failed, or was interrupted.
type hookError struct {
	Hook HookKind
	Err  error
}

func (e *hookError) Error() string { return e.Err.Error() }
func (e *hookError) Unwrap() error { return e.Err }

// ErrorClass: a hook that failed needs a person, whatever its own error.
func (e *hookError) ErrorClass() errclass.Class { return errclass.NeedsPerson }

// SwitchHooks is the state file's record of the hooks of the last switch
// that ran one: each run is saved as started before the hook starts, and
// as finished after, so a hook runs at most once for one switch, also
// when the agent is killed while it runs (settleHooks).
type SwitchHooks struct {
	Revision    string `json:"revision,omitempty"` // "" for a hand edit under watch
	Version     string `json:"version"`
	FromVersion string `json:"from_version,omitempty"`
	// Failed: the switch failed (a hook, or the release did not come up).
	// Another switch to the same revision and version (after `reconciler
	// retry`, or a new hand edit) is a new one, whose hooks run again.
	Failed bool      `json:"failed,omitempty"`
	Runs   []HookRun `json:"runs"`
}

// HookRun is one hook of a switch.
type HookRun struct {
	Hook     HookKind  `json:"hook"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"` // zero while it runs, and forever if the agent died meanwhile
	Error    string    `json:"error,omitempty"`
}

// hookedSwitch is a switch the hooks run around.
type hookedSwitch struct {
	from    string        // the binary app.bin pointed at before; "" on a first start
	fromRev string        // the revision of from, when known
	to      appdir.Target // the release switched to
}

func (hs *hookedSwitch) version() string { return appdir.Version(hs.to.Bin) }

// back is the switch back to from, as the on-rollback hook is told it.
func (hs *hookedSwitch) back() (string, appdir.Target) {
	return hs.to.Bin, appdir.Target{Bin: hs.from, Revision: hs.fromRev}
}

// hooked returns the switch of plan the hooks run around; nil when none
// do: no hook configured, no release change (the links stay; an app that
// died is only started again), or drift put back at the applied revision.
func (e *Engine) hooked(p Plan, st *State) *hookedSwitch {
	if e.Switcher == nil || !e.Hooks.any() || !p.doSwitch || len(p.links) == 0 {
		return nil
	}
	if st.Applied != nil && st.Applied.Revision == p.to.Revision {
		return nil
	}
	hs := &hookedSwitch{from: appdir.LinkTarget(e.Layout.Dir, appdir.BinLink),
		to: appdir.Target{Bin: p.to.BinFile, Cfg: p.to.CfgFile, Revision: p.to.Revision}}
	if p.from != nil && p.from.BinFile == hs.from {
		hs.fromRev = p.from.Revision
	}
	return hs
}

// beginHooks starts the record of a switch's hooks, unless the state holds
// one of the same switch that did not fail: a switch tried again after an
// error that did not fail it (the agent stopped, a drain timed out) does
// not run again a hook that already ran.
func (st *State) beginHooks(hs *hookedSwitch) {
	if r := st.Hooks; r != nil && !r.Failed && r.Revision == hs.to.Revision && r.Version == hs.version() {
		return
	}
	st.Hooks = &SwitchHooks{Revision: hs.to.Revision, Version: hs.version(), FromVersion: appdir.Version(hs.from)}
}

// failHooks marks the switch's record failed.
func (st *State) failHooks() {
	if st.Hooks != nil {
		st.Hooks.Failed = true
	}
}

// runHook runs hook k for the switch hs (begun with beginHooks), telling it
// the switch from -> to, at most once: the run is saved as started before
// the hook starts, and as finished after. A hook that already ran for hs is
// not run again. The error is a *HookError when the hook ran and failed;
// any other error means it did not run.
func (e *Engine) runHook(ctx context.Context, st *State, k HookKind, hs *hookedSwitch, from string, to appdir.Target) error {
	r := e.Hooks.runner(k)
	if r == nil || st.Hooks == nil {
		return nil
	}
	rec := st.Hooks
	for _, run := range rec.Runs {
		if run.Hook == k && run.Finished.IsZero() { // settleHooks did not see it: never again all the same
			return &hookError{Hook: k, Err: fmt.Errorf("%s hook: started at %s and never finished; not run again", k, run.Started.Format(time.RFC3339))}
		}
		if run.Hook == k {
			e.log().Info("hook already ran for this switch; not running it again", "hook", k, "rev", short(hs.to.Revision),
				"version", rec.Version, "started", run.Started)
			return nil
		}
	}
	rec.Runs = append(rec.Runs, HookRun{Hook: k, Started: e.now()})
	if err := e.Layout.saveState(*st); err != nil {
		rec.Runs = rec.Runs[:len(rec.Runs)-1]
		return fmt.Errorf("%s hook not run: its start could not be recorded: %w", k, err)
	}
	err := r.Run(ctx, from, to)
	run := &rec.Runs[len(rec.Runs)-1]
	run.Finished = e.now()
	if err != nil {
		run.Error = err.Error()
	}
	if serr := e.Layout.saveState(*st); serr != nil {
		e.log().Error("save state after a hook", "hook", k, "err", serr)
	}
	if err != nil {
		return &hookError{Hook: k, Err: err}
	}
	return nil
}

// preSwitch runs the pre-switch hook of hs. When it fails, nothing is
// switched: the revision is recorded failed, as a release that did not come
// up is, so it is not tried again in a loop. The failure is told by whoever
// receives the error, as any failed pass is: once.
func (e *Engine) preSwitch(ctx context.Context, st *State, hs *hookedSwitch) error {
	st.beginHooks(hs)
	err := e.runHook(ctx, st, HookPreSwitch, hs, hs.from, hs.to)
	var herr *hookError
	if !errors.As(err, &herr) {
		return err
	}
	st.failHooks()
	reason := herr.Error() + "; nothing was switched"
	st.markFailed(Failed{Revision: hs.to.Revision, Version: hs.version(), Reason: reason, Time: e.now()})
	// Not told here: the pass (tellError) or the hand edit (tellLocal)
	// that ends in this error tells it, once.
	return fmt.Errorf("%w; nothing was switched, and %s is recorded failed: once the cause is fixed, `reconciler retry --dir %s` tries it again",
		herr, e.switchName(hs), e.Layout.Dir)
}

// afterSwitch runs the post-switch hook after a good switch, or the
// on-rollback hook after the switcher switched back by itself. A failure is
// logged and notified; nothing is rolled back for it.
func (e *Engine) afterSwitch(ctx context.Context, st *State, hs *hookedSwitch, switchErr error) {
	if hs == nil {
		return
	}
	k, from, to := HookPostSwitch, hs.from, hs.to
	switch {
	case switchErr == nil:
	case !isUnhealthy(switchErr):
		return // not switched, or not judged: the switch is tried again
	case hs.from == "" || hs.from == hs.to.Bin:
		st.failHooks() // nothing to switch back to: no rollback
		return
	default:
		k = HookOnRollback
		from, to = hs.back()
	}
	err := e.runHook(ctx, st, k, hs, from, to)
	if isUnhealthy(switchErr) {
		st.failHooks()
	}
	if err == nil {
		return
	}
	e.log().Error("hook failed; nothing is rolled back for it", "hook", k, "rev", short(hs.to.Revision), "err", err)
	e.emit(Event{Kind: EventError, FromVersion: appdir.Version(from), ToVersion: appdir.Version(to.Bin), Revision: to.Revision, Error: err.Error()})
}

// switchName names the switch's revision for people.
func (e *Engine) switchName(hs *hookedSwitch) string {
	if hs.to.Revision == "" {
		return "version " + hs.version()
	}
	return fmt.Sprintf("revision %s (version %s)", short(hs.to.Revision), hs.version())
}

// settleHooks finds a hook that the state says started and never finished:
// the agent that ran it died (this one holds the lock). It is not run
// again. An interrupted pre-switch hook fails its revision, as a failed one
// does, and release/current.conf is put back to what the links say, if a
// hand edit had named the release; the other hooks are reported. It
// reports whether it changed the state.
func (e *Engine) settleHooks(st *State) bool {
	runs := st.settleInterrupted(e.now(), e.Layout.Dir)
	rec := st.Hooks
	for _, r := range runs {
		if r.Hook == HookPreSwitch {
			e.putBackHandEdit(rec)
		}
		e.log().Error("hook interrupted", "hook", r.Hook, "rev", short(rec.Revision), "version", rec.Version, "err", r.Error)
		e.emit(Event{Kind: EventError, FromVersion: rec.FromVersion, ToVersion: rec.Version, Revision: rec.Revision, Error: r.Error})
	}
	return len(runs) > 0
}

// settleInterrupted is settleHooks' change of the state alone (a dry pass
// makes it on its copy): each run left started is finished, interrupted,
// and an interrupted pre-switch hook fails its revision. It returns those
// runs, each with the words that tell of it as its Error.
func (st *State) settleInterrupted(now time.Time, dir string) []HookRun {
	rec := st.Hooks
	if rec == nil {
		return nil
	}
	var told []HookRun
	for i := range rec.Runs {
		run := &rec.Runs[i]
		if !run.Finished.IsZero() {
			continue
		}
		run.Finished = now
		run.Error = "interrupted: the agent died while it ran"
		msg := fmt.Sprintf("%s hook interrupted: the agent died while it ran (started %s); it was not run again, and it may still be running (output in %s)",
			run.Hook, run.Started.Format(time.RFC3339), appdir.HookOutput(dir, string(run.Hook)))
		if run.Hook == HookPreSwitch {
			rec.Failed = true
			msg += fmt.Sprintf("; nothing was switched: check what it did, then `reconciler retry --dir %s`", dir)
			st.markFailed(Failed{Revision: rec.Revision, Version: rec.Version, Reason: msg, Time: now})
		}
		r := *run
		r.Error = msg
		told = append(told, r)
	}
	return told
}

// putBackHandEdit restores release/current.conf to the links when it names
// the release of an interrupted pre-switch hook that the links never
// reached (a hand edit under watch), so it is not tried again at once.
func (e *Engine) putBackHandEdit(rec *SwitchHooks) {
	conf, err := e.Layout.ReadLocalConf()
	if err != nil || appdir.Version(conf.BinFile) != rec.Version || e.linksAgree(conf) {
		return
	}
	e.restoreConf(e.confFromLinks())
}
