package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/internal/envfile"
	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/redact"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/robfig/cron/v3"
)

// appsAgent is `run --apps-dir`: a reconcile.Agent per app, the git
// sources its apps share, and what its HTTP endpoint serves.
type appsAgent struct {
	defaults appDefaults
	cacheDir string
	log      *slog.Logger
	set      *appset.Set
	base     *prometheus.Registry // the Go and process collectors, once
	phase    func(n int64) int64  // the jitter, one for every app

	mu     sync.Mutex // guards the maps
	apps   map[string]*appRun
	dirs   map[string]string // app directory -> the app that runs there
	groups map[string]*repoGroup
}

// repoGroup is a deploy repo and ref (with its credentials and limits)
// that apps follow together.
type repoGroup struct {
	shared *gitsrc.Shared
	users  int
}

// parseAppFile reads an app file's settings: RECONCILER_* only, since an
// app gets no environment of its own.
func parseAppFile(f appset.File) ([]envfile.Var, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	vars, err := envfile.Parse(f.Path, f.Data)
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		if !strings.HasPrefix(v.Name, "RECONCILER_") {
			return nil, &envfile.Error{File: f.Path, Line: v.Line,
				Msg: v.Name + ": an app file holds RECONCILER_* settings only; give the agent its environment in its unit"}
		}
	}
	return vars, nil
}

// serveApp runs the app of f until ctx ends (appset.Set.Serve): built as
// `run --dir` builds its agent (openEngine), with the git source of its
// repo shared and its metrics labelled with its name.
func (ag *appsAgent) serveApp(ctx context.Context, f appset.File) error {
	log := ag.log.With("app", f.Name)
	c, a, err := ag.defaults.settings(f, log)
	if err != nil {
		return err
	}
	sched, err := parseSchedule(a.Schedule)
	if err != nil {
		return appFileError(f, err)
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		sched = appset.Every(every.Delay) // on the ticks of the other apps
	}
	release, err := ag.claimDir(f.Name, c.Dir)
	if err != nil {
		return appFileError(f, err)
	}
	defer release()
	eng, lock, err := openEngine(c, log)
	if err != nil {
		return appFileError(f, err)
	}
	defer lock.Unlock()
	if err := recordOwner(eng.Layout, f.Name); err != nil {
		log.Warn("record the app of the directory (for status --apps-dir)", "err", err)
	}
	git, leave, err := ag.join(c)
	if err != nil {
		return appFileError(f, err)
	}
	defer leave()
	eng.Repo = git
	if c.trust.Enabled() {
		eng.Verify = commitVerifier{src: git, trust: c.trust}
	}
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"app": f.Name}, reg)
	eng.Metrics = reconcile.NewMetrics(wrapped, func() (int64, int64) { s := git.Stats(); return s.RefListings, s.Fetches })
	notifier := startNotifier(ctx, c, eng.Engine, notify.NewMetrics(wrapped), log)
	agent := reconcile.NewAgent(eng, sched, log.With("dir", eng.Layout.Dir))
	agent.Metrics, agent.Jitter, agent.MaxBackoff, agent.Rand = eng.Metrics, a.Jitter, a.MaxBackoff, ag.phase
	if err := restart.CleanLinks(eng.Layout.Dir); err != nil {
		log.Warn("clean temporary links", "err", err)
	}
	log.Info("app starting", "file", f.Path, "repo", redact.URL(c.Repo), "ref", c.Ref, "path", c.Path,
		"dir", eng.Layout.Dir, "schedule", a.Schedule, "jitter", a.Jitter, "notify", len(c.Notify.urls),
		"window", c.Windows, "deny_window", c.DenyWindows)
	ag.mu.Lock()
	ag.apps[f.Name] = &appRun{agent: agent, layout: eng.Layout, reg: reg, git: git}
	ag.mu.Unlock()
	defer func() {
		ag.mu.Lock()
		delete(ag.apps, f.Name)
		ag.mu.Unlock()
	}()
	onRequest := func() { git.Invalidate(); agent.Trigger() } // the person may just have pushed
	err = serveAgent(ctx, agent, exitWatch(eng.Engine), eng.Layout, onRequest, nil, nil, nil, log)
	lock.Unlock() // the app's agent is done: delivering what is queued needs no lock
	closeNotifier(ctx, notifier)
	return err
}

// claimDir refuses a directory another app of the agent runs in (its lock
// would say "another reconciler", which is this one).
func (ag *appsAgent) claimDir(app, dir string) (func(), error) {
	layout, err := reconcile.NewLayout(dir)
	if err != nil {
		return nil, err
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	if other, ok := ag.dirs[layout.Dir]; ok && other != app {
		return nil, &usageError{msg: fmt.Sprintf("RECONCILER_DIR %s: app %s runs there already", layout.Dir, other)}
	}
	ag.dirs[layout.Dir] = app
	return func() {
		ag.mu.Lock()
		delete(ag.dirs, layout.Dir)
		ag.mu.Unlock()
	}, nil
}

// join returns a Handle on the Shared of c's repo, ref, credentials and
// limits, made at the first app that follows them, and the func that
// leaves it; the last app to leave drops it (its cache stays on disk for
// the next start).
func (ag *appsAgent) join(c *Config) (*gitsrc.Handle, func(), error) {
	key := repoKey(c)
	ag.mu.Lock()
	defer ag.mu.Unlock()
	g := ag.groups[key]
	if g == nil {
		opts, err := sourceOptions(c, filepath.Join(ag.cacheDir, "git", key))
		if err != nil {
			return nil, nil, err
		}
		shared, err := gitsrc.NewShared(opts, gitsrc.ShareWindow)
		if err != nil {
			return nil, nil, &usageError{msg: "--repo: " + err.Error()}
		}
		g = &repoGroup{shared: shared}
		ag.groups[key] = g
	}
	g.users++
	return g.shared.Handle(), func() {
		ag.mu.Lock()
		defer ag.mu.Unlock()
		if g.users--; g.users == 0 {
			delete(ag.groups, key)
		}
	}, nil
}

// repoKey names what apps must agree on to share a git source: the repo
// and ref, the credentials and the limits of its calls. It names the
// cache directory too, so it is a digest (a token is among its inputs).
func repoKey(c *Config) string {
	h := sha256.New()
	for _, s := range []string{c.Repo, c.Ref, c.SSHKey, c.KnownHosts, c.TokenFile, c.gitToken(), c.CAFile,
		c.GitTimeout.String(), fmt.Sprint(c.maxSizeBytes)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// notRunning counts the apps that do not run, for
// reconciler_apps_not_running.
func (ag *appsAgent) notRunning() float64 {
	n := 0
	for _, a := range ag.set.Apps() {
		if a.Err != nil {
			n++
		}
	}
	return float64(n)
}
