package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/artifacts"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/fsx"
)

// Downloader fetches a URL into dir/name, verified against sha256
// (artifacts.Fetcher).
type Downloader interface {
	Fetch(ctx context.Context, rawURL, sha256, dir, name string, mode os.FileMode) (artifacts.Result, error)
}

// Switcher makes the app run what release/current.conf says: links,
// process, health check, and a switch back when the release does not come
// up (package restart). An error that has an `Unhealthy() bool` method
// answering true means the release was rolled back and its revision is to be
// recorded as failed.
type Switcher interface {
	// Switch makes the app run the release to (to.Cfg "" leaves app.cfg
	// alone); to.Revision is told to the health command.
	Switch(ctx context.Context, to appdir.Target) error
	// Judge finishes the judgement of a switch from -> to that an agent
	// began and did not finish: links and process onto to when they are
	// not there yet (a process on to is not signalled), then the health
	// checks and the whole bake; switched back to from when it fails, as
	// Switch does.
	Judge(ctx context.Context, to, from appdir.Target) error
	// Check refuses a binary this machine cannot run, before anything
	// points at it.
	Check(bin string) error
	// Running reports the app's pid and whether it runs bin (always true
	// when the switcher does not manage the process).
	Running(bin string) (pid int, ok bool)
	// Describe says, in words for a plan, what happens to the process.
	Describe() string
}

// apply carries out a plan: release files first (each complete and verified
// before it appears), then the pre-switch hook (hs, if any), then
// release/current.conf, then the switch. It says whether a switch was
// attempted.
func (e *Engine) apply(ctx context.Context, p Plan, st *State, hs *hookedSwitch) (bool, error) {
	rel := e.Layout.Release()
	if err := os.MkdirAll(rel, 0o755); err != nil {
		return false, fmt.Errorf("create %s: %w", rel, err)
	}
	for _, s := range p.steps {
		if err := e.fetchStep(ctx, s, st, p.to.Revision); err != nil {
			return false, err
		}
		st.recordRelease(filepath.Base(s.Target), s.SHA256)
	}
	if e.Switcher != nil {
		if err := e.Switcher.Check(p.to.BinFile); err != nil {
			return false, err
		}
	}
	if hs != nil {
		if err := e.preSwitch(ctx, st, hs); err != nil {
			return false, err
		}
	}
	if p.writeConf {
		if err := artifacts.WriteFileAtomic(e.Layout.CurrentConf(), p.to.Marshal(), 0o644); err != nil {
			return false, fmt.Errorf("write %s: %w", e.Layout.CurrentConf(), err)
		}
		e.log().Info("wrote current.conf", "version", p.to.Version, "rev", short(p.to.Revision))
	}
	if e.Switcher == nil || !p.doSwitch {
		return false, nil
	}
	if err := e.beginSwitch(st, p.to.Revision, p.to, p.from); err != nil {
		return false, err
	}
	e.forgetSeen()
	err := e.Switcher.Switch(ctx, appdir.Target{Bin: p.to.BinFile, Cfg: p.to.CfgFile, Revision: p.to.Revision})
	e.endSwitch(st, err)
	return true, err
}

func (e *Engine) applyStep(ctx context.Context, s fileStep) error {
	dir, name := filepath.Split(s.Target)
	var (
		res artifacts.Result
		err error
	)
	if s.Action == reuseAction {
		e.log().Debug("release file present", "file", e.Layout.Rel(s.Target), "sha256", s.SHA256)
		return nil
	}
	if s.Repair {
		return e.repair(ctx, s)
	}
	if s.Action == installAction {
		res, err = e.install(ctx, s, dir, name)
	} else {
		res, err = e.Download.Fetch(ctx, s.URL, s.SHA256, dir, name, s.Mode)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Kind, e.Layout.Rel(s.Target), err)
	}
	if !res.Reused && s.Action == fetchAction {
		e.Metrics.downloadedBytes(downloadOK, res.Size)
	}
	e.log().Info("release file ready", "file", e.Layout.Rel(s.Target), "source", s.Origin,
		"sha256", res.SHA256, "bytes", res.Size, "reused", res.Reused)
	return nil
}

// install writes a file of the deploy repo: from the plan's bytes, or
// streamed from the repo and verified against the planned digest.
func (e *Engine) install(ctx context.Context, s fileStep, dir, name string) (artifacts.Result, error) {
	if !s.Stream {
		return artifacts.Install(dir, name, s.Data, s.Mode)
	}
	r, _, err := e.Repo.OpenFile(ctx, s.Rev, s.RepoPath)
	if err != nil {
		return artifacts.Result{}, err
	}
	defer r.Close()
	return artifacts.InstallReader(dir, name, r, s.SHA256, s.Mode)
}

// repairSuffix names the side file a drifted release file is rebuilt in.
const repairSuffix = ".repair"

// repair rebuilds a release file that was altered on disk after the
// reconciler installed it: the verified bytes go to a side name, which is
// then renamed over the altered file, so a link to it never dangles.
func (e *Engine) repair(ctx context.Context, s fileStep) error {
	side := s.Target + repairSuffix
	_ = os.Remove(side) // a leftover from a killed repair may hold anything
	dir, name := filepath.Split(side)
	var err error
	if s.Action == installAction {
		_, err = e.install(ctx, s, dir, name)
	} else {
		var res artifacts.Result
		res, err = e.Download.Fetch(ctx, s.URL, s.SHA256, dir, name, s.Mode)
		e.Metrics.downloadedBytes(downloadOK, res.Size)
	}
	if err == nil {
		err = os.Rename(side, s.Target)
	}
	if err == nil {
		err = fsx.SyncDir(dir)
	}
	if err != nil {
		_ = os.Remove(side)
		return fmt.Errorf("repair %s: %w", e.Layout.Rel(s.Target), err)
	}
	e.digests.forget(s.Target)
	e.log().Warn("drift: release file had been altered; restored the verified bytes", "file", e.Layout.Rel(s.Target), "sha256", s.SHA256)
	return nil
}

func isRepairFile(name string) bool { return strings.HasSuffix(name, repairSuffix) }
