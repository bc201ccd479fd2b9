package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// ApplyLocal makes the links and the app agree with release/current.conf,
// whoever wrote it: the reconciler, or a person (scp a release in, edit the
// file, as in the seed design: the hand-run layout this tool grew from). The watcher calls it on every change and at
// start-up. A file that points outside release/, at missing files or at a
// binary this machine cannot run is refused and nothing changes. The hooks
// run around a switch to another release as they do for a sync, without a
// revision; a failed pre-switch hook leaves the links where they are. A
// release that does not come up is switched back; then, as after a failed
// pre-switch hook, release/current.conf is put back to what runs and the
// revision is recorded as failed, so the watcher does not retry it in a
// loop. The caller holds the directory's lock.
func (e *Engine) ApplyLocal(ctx context.Context) error {
	if e.Switcher == nil {
		return errors.New("apply release/current.conf: no switcher configured")
	}
	st, err := e.Layout.LoadState()
	if err != nil {
		return err
	}
	before := len(st.Failed)
	settled := e.settleHooks(&st)
	judged, err := e.finishJudgement(ctx, &st)
	var sw localSwitch
	if err == nil {
		sw, err = e.applyLocal(ctx, &st)
	}
	var herr *hookError
	failed := len(st.Failed) != before || errors.As(err, &herr)
	if failed && err != nil {
		st.LastError = &ErrorInfo{Time: e.now(), Message: err.Error()}
		if len(st.Failed) != before {
			st.LastError.Revision = st.Failed[len(st.Failed)-1].Revision
		}
	}
	if failed || settled || judged || sw.switched {
		if serr := e.Layout.saveState(st); serr != nil {
			e.log().Error("save state", "err", serr)
		}
	}
	if ctx.Err() == nil && (!judged || sw.switched) {
		e.tellLocal(sw, err)
	}
	return err
}

// localSwitch is what applyLocal did: whether it switched, from what the
// links pointed at to what release/current.conf says.
type localSwitch struct {
	switched bool
	from     *LocalConf
	to       LocalConf
}

// applyLocal is ApplyLocal on a state the caller loaded and saves.
func (e *Engine) applyLocal(ctx context.Context, st *State) (localSwitch, error) {
	conf, err := e.Layout.ReadLocalConf()
	if errors.Is(err, os.ErrNotExist) {
		return localSwitch{}, nil
	}
	if err != nil {
		return localSwitch{}, fmt.Errorf("refusing %w", err)
	}
	if e.heldConf != nil && *e.heldConf == conf {
		return localSwitch{}, fmt.Errorf("not applying %s again: its pre-switch hook failed, and there is no release to put back; edit the file to try again", e.Layout.CurrentConf())
	}
	pid, running := e.Switcher.Running(conf.BinFile)
	linked := e.linksAgree(conf)
	if linked && (running || (pid == 0 && e.startHeld())) { // a dead app waits for its restart
		e.lastConf = &conf // in sync: a watcher event for it is no change
		return localSwitch{}, nil
	}
	if err := e.Switcher.Check(conf.BinFile); err != nil {
		return localSwitch{}, fmt.Errorf("refusing %s: %w", e.Layout.CurrentConf(), err)
	}
	prev := e.confFromLinks()
	sw := localSwitch{switched: true, from: prev, to: conf}
	if !running {
		e.log().Warn("the app does not run the applied release: starting it", "version", conf.Version)
	}
	// A hand edit has no revision: a "revision" key in the file may be
	// left over from the release it replaced.
	to := appdir.Target{Bin: conf.BinFile, Cfg: conf.CfgFile}
	var hs *hookedSwitch
	if !linked {
		hs = e.hookedLocal(to, prev)
	}
	if hs != nil {
		if err := e.preSwitch(ctx, st, hs); err != nil {
			if errors.As(err, new(*hookError)) {
				e.restoreConf(prev)
				if prev == nil { // nothing to put back: hold the file until it changes
					e.heldConf = &conf
				}
			}
			sw.switched = false // nothing moved
			return sw, err
		}
	}
	if err := e.beginSwitch(st, conf.Revision, conf, prev); err != nil {
		return localSwitch{}, err
	}
	e.forgetSeen()
	err = e.Switcher.Switch(ctx, to)
	e.endSwitch(st, err)
	if err == nil {
		e.lastConf = &conf
	} else if isUnhealthy(err) {
		e.restoreConf(prev)
		st.markFailed(Failed{Revision: conf.Revision, Version: conf.Version, Reason: err.Error(), Time: e.now()})
	}
	e.afterSwitch(ctx, st, hs, err)
	return sw, err
}

// hookedLocal is the switch to a hand-edited release the hooks run around;
// nil when no hook is configured.
func (e *Engine) hookedLocal(to appdir.Target, prev *LocalConf) *hookedSwitch {
	if !e.Hooks.any() {
		return nil
	}
	hs := &hookedSwitch{to: to}
	if prev != nil {
		hs.from, hs.fromRev = prev.BinFile, prev.Revision
	}
	return hs
}

func (e *Engine) linksAgree(c LocalConf) bool {
	dir := e.Layout.Dir
	if appdir.LinkTarget(dir, appdir.BinLink) != c.BinFile {
		return false
	}
	return c.CfgFile == "" || appdir.LinkTarget(dir, appdir.CfgLink) == c.CfgFile
}

// confFromLinks describes what the links point at, as a current.conf.
func (e *Engine) confFromLinks() *LocalConf {
	l := e.Layout
	c := LocalConf{BinFile: appdir.LinkTarget(l.Dir, appdir.BinLink), CfgFile: appdir.LinkTarget(l.Dir, appdir.CfgLink)}
	if c.BinFile == "" {
		return nil
	}
	c.Version = appdir.Version(c.BinFile)
	if st, err := l.LoadState(); err == nil && st.Applied != nil && st.Applied.Version == c.Version {
		c.Revision = st.Applied.Revision
	}
	return &c
}

// restoreConf puts release/current.conf back to what runs after a switch
// back, so the file never claims a release that is not running.
func (e *Engine) restoreConf(prev *LocalConf) {
	if prev == nil {
		return
	}
	if err := artifacts.WriteFileAtomic(e.Layout.CurrentConf(), prev.Marshal(), 0o644); err != nil {
		e.log().Error("restore current.conf", "err", err)
		return
	}
	e.log().Warn("restored current.conf to the release that runs", "version", prev.Version)
}

// dropConf removes release/current.conf after the first release of a
// directory failed: there is none to switch back to, and a file naming the
// failed release would have it started again and again (the watcher, the
// upkeep of a pass that skips the failed revision). The app stays down
// until a release comes up.
func (e *Engine) dropConf(version string) {
	if err := os.Remove(e.Layout.CurrentConf()); err != nil && !errors.Is(err, os.ErrNotExist) {
		e.log().Error("remove current.conf", "err", err)
		return
	}
	e.log().Warn("the first release of this directory did not come up and there is none to switch back to: removed release/current.conf (the switch removed the links); the app stays down until a release comes up", "version", version)
}

// LocalInSync reports whether release/current.conf is the one this engine
// last wrote or applied and the links agree with it, or is absent as this
// engine left it (a new directory): a watcher event it can ignore.
func (e *Engine) LocalInSync() bool {
	conf, err := e.Layout.ReadLocalConf()
	if errors.Is(err, os.ErrNotExist) && e.lastConf == nil {
		return true // no file, and this engine wrote none: nobody edited anything
	}
	if err != nil || e.lastConf == nil || conf != *e.lastConf {
		return false
	}
	return e.linksAgree(conf)
}
