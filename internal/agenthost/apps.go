package agenthost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/robfig/cron/v3"
)

// Apps is the Target of `run --apps-dir`: a reconcile.Agent per app file
// of a directory, the git sources its apps share, and their metrics and
// status. What an app file says is the caller's (Open).
type Apps struct {
	open     OpenFunc
	cacheDir string
	log      *slog.Logger
	set      *appset.Set
	base     *prometheus.Registry // the Go and process collectors, once
	phase    func(n int64) int64  // the jitter, one for every app

	mu     sync.Mutex // guards the maps
	apps   map[string]*appRun
	dirs   map[string]string // app directory -> the app that runs there
	groups map[string]*repoGroup

	// SelfUpdates says the agent updates itself (run --agent-path) and
	// reports its status (ReportAgent); without, each app's start
	// removes the agent status an earlier agent left in its directory.
	SelfUpdates bool
	// PollAgent, if set, is called at each POST /reconcile of every app
	// (no ?app) and each reload: the agent's own file is read then too.
	// Every shared git source (Join's too) is invalidated first.
	PollAgent func()

	agentMu sync.Mutex             // serializes the writes of the agent's status
	agent   *reconcile.AgentStatus // the last reported, nil before ReportAgent
}

// OpenFunc reads the settings of the app of f. An error is the app's
// (shown by Status, retried when the file changes); it should name f.
type OpenFunc func(f appset.File, log *slog.Logger) (*App, error)

// App is an app as its file's settings make it.
type App struct {
	Dir      string        // its app directory: one app per directory
	Schedule cron.Schedule // its polls; a constant delay is put on the ticks of the other apps
	// RepoKey names what apps must agree on to share a git source (repo,
	// ref, credentials, limits): apps with one key share one
	// gitsrc.Shared, made of Source (its CacheDir set by Apps) by the
	// first. It names the git cache's directory too.
	RepoKey string
	Source  gitsrc.Options
	// Start builds the app's engine on the parts Apps gives it, with the
	// directory locked until Running.Close.
	Start func(ctx context.Context, p Parts) (*Running, error)
}

// Parts are what Apps gives an app's engine.
type Parts struct {
	Git      *gitsrc.Handle        // the app's handle on its repo's shared source
	Metrics  *reconcile.Metrics    // the app's series, labelled with its name
	Registry prometheus.Registerer // for more series, labelled likewise
	Log      *slog.Logger          // with the app's name
}

// Running is an app's engine, built by App.Start.
type Running struct {
	Engine             *reconcile.Engine
	Jitter, MaxBackoff time.Duration // of its agent
	// Close, if set, is called once the agent has stopped: it releases
	// what Start took (the directory's lock, a notifier).
	Close func()
}

// repoGroup is a deploy repo and ref (with its credentials and limits)
// that apps follow together.
type repoGroup struct {
	shared *gitsrc.Shared
	users  int
}

// appRun is an app that runs: what the endpoints need of it.
type appRun struct {
	agent  *reconcile.Agent
	layout reconcile.Layout
	reg    *prometheus.Registry
	git    *gitsrc.Handle
}

// NewApps is the host of the apps of dir, their git caches in cacheDir.
func NewApps(dir, cacheDir string, open OpenFunc, log *slog.Logger) *Apps {
	h := &Apps{open: open, cacheDir: cacheDir, log: log, phase: appset.Phase(), base: prometheus.NewRegistry(),
		apps: map[string]*appRun{}, dirs: map[string]string{}, groups: map[string]*repoGroup{}}
	h.set = &appset.Set{Dir: dir, Serve: h.serveApp, Log: log}
	h.base.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "reconciler_apps_not_running",
			Help: "Apps of --apps-dir that do not run: a refused file, or an app that could not start (see /status)."},
			h.notRunning))
	return h
}

// Registry is where the agent's own series go (the self-update's): served
// once on /metrics, beside the apps' series, without an app label.
func (h *Apps) Registry() prometheus.Registerer { return h.base }

// Run runs the apps until ctx ends, then waits for them to stop (each
// releases its directory). A signal on reload re-reads the directory,
// and calls PollAgent. The endpoints (NewServer(h, ...)) are served by
// the caller, so that they can outlive the apps (a handover). It returns
// nil when ctx ended.
func (h *Apps) Run(ctx context.Context, reload <-chan os.Signal) error {
	if h.PollAgent == nil {
		return h.set.Run(ctx, reload)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx) // cancelled first: set.Run may return before ctx ends
	defer cancel()
	relayed := make(chan os.Signal, 1)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-reload:
				h.mu.Lock()
				h.invalidateAll() // asked for: the branch may have just moved
				h.mu.Unlock()
				h.PollAgent()
				select {
				case relayed <- sig:
				default: // one pending re-read is as good as two
				}
			}
		}
	})
	return h.set.Run(ctx, relayed)
}

// serveApp runs the app of f until ctx ends (appset.Set.Serve): its
// directory claimed, the git source of its repo shared, its metrics
// labelled with its name.
func (h *Apps) serveApp(ctx context.Context, f appset.File) error {
	log := h.log.With("app", f.Name)
	app, err := h.open(f, log)
	if err != nil {
		return err
	}
	release, err := h.claimDir(f.Name, app.Dir)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	defer release()
	git, leave, err := h.join(app)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	defer leave()
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"app": f.Name}, reg)
	metrics := reconcile.NewMetrics(wrapped, func() (int64, int64) { s := git.Stats(); return s.RefListings, s.Fetches })
	run, err := app.Start(ctx, Parts{Git: git, Metrics: metrics, Registry: wrapped, Log: log})
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if run.Close != nil {
		defer run.Close()
	}
	eng := run.Engine
	if err := recordOwner(eng.Layout, f.Name); err != nil {
		log.Warn("record the app of the directory (for status --apps-dir)", "err", err)
	}
	agent := reconcile.NewAgent(eng, alignSchedule(app.Schedule), log.With("dir", eng.Layout.Dir))
	agent.Metrics, agent.Jitter, agent.MaxBackoff, agent.Rand = metrics, run.Jitter, run.MaxBackoff, h.phase
	if err := restart.CleanLinks(eng.Layout.Dir); err != nil {
		log.Warn("clean temporary links", "err", err)
	}
	defer h.register(f.Name, &appRun{agent: agent, layout: eng.Layout, reg: reg, git: git})()
	// Registered first: a ReportAgent from now on reaches it too.
	h.writeAgent(eng.Layout, log)
	onRequest := func() { git.Invalidate(); agent.Trigger() } // the person may just have pushed
	return Loop{Agent: agent, Layout: eng.Layout, Exits: ExitWatch(eng), OnRequest: onRequest, Log: log}.Run(ctx)
}

// register makes run the app called name for the endpoints until the
// func it returns is called.
func (h *Apps) register(name string, run *appRun) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.apps[name] = run
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.apps, name)
	}
}

// alignSchedule puts a constant delay ("@every 30s") on the ticks of the
// other apps, so that apps of one repo share their ref listings.
func alignSchedule(s cron.Schedule) reconcile.Schedule {
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		return appset.Every(every.Delay)
	}
	return s
}

// claimDir refuses a directory another app of the agent runs in (its lock
// would say "another reconciler", which is this one).
func (h *Apps) claimDir(app, dir string) (func(), error) {
	layout, err := reconcile.NewLayout(dir)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if other, ok := h.dirs[layout.Dir]; ok && other != app {
		return nil, fmt.Errorf("%s %s: app %s runs there already", dirVar, layout.Dir, other)
	}
	h.dirs[layout.Dir] = app
	return func() {
		h.mu.Lock()
		delete(h.dirs, layout.Dir)
		h.mu.Unlock()
	}, nil
}

// join returns a Handle on the Shared of app's RepoKey, made at the first
// app that follows it, and the func that leaves it; the last app to leave
// drops it (its cache stays on disk for the next start).
func (h *Apps) join(app *App) (*gitsrc.Handle, func(), error) {
	key := app.RepoKey
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[key]
	if g == nil {
		opts := app.Source
		opts.CacheDir = filepath.Join(h.cacheDir, "git", key)
		shared, err := gitsrc.NewShared(opts, gitsrc.ShareWindow)
		if err != nil {
			return nil, nil, fmt.Errorf("--repo: %w", err)
		}
		g = &repoGroup{shared: shared}
		h.groups[key] = g
	}
	g.users++
	return g.shared.Handle(), func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if g.users--; g.users == 0 {
			delete(h.groups, key)
		}
	}, nil
}

// Join returns a Handle on the git source the apps of key share (made
// of opts, as an App's Source, when no app follows it yet), for a reader
// beside the apps (the agent's own updates, run --agent-path): it keeps
// the source until the func it returns is called, and reads at the ticks
// of Schedule shares the apps' ref listings.
func (h *Apps) Join(key string, opts gitsrc.Options) (*gitsrc.Handle, func(), error) {
	return h.join(&App{RepoKey: key, Source: opts})
}

// Schedule is s as the apps of h poll on it with jitter: ticks on the
// apps' grid (an "@every D" counted from the zero time, not from the
// last poll's end) with the one delay after each that every app with
// that jitter takes. A reader on it starts with the apps whose schedule
// and jitter these are, and shares their listing.
func (h *Apps) Schedule(s cron.Schedule, jitter time.Duration) reconcile.Schedule {
	var delay time.Duration
	if jitter > 0 {
		delay = time.Duration(h.phase(int64(jitter)))
	}
	return delayed{alignSchedule(s), delay}
}

// delayed is a schedule whose ticks come d after s's.
type delayed struct {
	s reconcile.Schedule
	d time.Duration
}

func (x delayed) Next(t time.Time) time.Time { return x.s.Next(t.Add(-x.d)).Add(x.d) }

// notRunning counts the apps that do not run, for
// reconciler_apps_not_running.
func (h *Apps) notRunning() float64 {
	n := 0
	for _, a := range h.set.Apps() {
		if a.Err != nil {
			n++
		}
	}
	return float64(n)
}

// ReportAgent records st, the agent's own status (run --agent-path), and
// writes it to the directory of every app that runs, and of each app at
// its start from now on (reconcile.Layout.WriteAgentStatus): `status
// --dir` of an app shows the agent that runs it, `status --apps-dir` and
// GET /status show it once (AppsStatus.Agent).
func (h *Apps) ReportAgent(st reconcile.AgentStatus) error {
	h.agentMu.Lock()
	defer h.agentMu.Unlock()
	h.agent = &st
	h.mu.Lock()
	layouts := make([]reconcile.Layout, 0, len(h.apps))
	for _, run := range h.apps {
		layouts = append(layouts, run.layout)
	}
	h.mu.Unlock()
	var errs []error
	for _, l := range layouts {
		errs = append(errs, l.WriteAgentStatus(&st))
	}
	return errors.Join(errs...)
}

// writeAgent writes the agent's status to the directory of an app that
// starts: the last reported; none without SelfUpdates (an earlier
// agent's is removed); left as it is before the first report.
func (h *Apps) writeAgent(l reconcile.Layout, log *slog.Logger) {
	h.agentMu.Lock()
	defer h.agentMu.Unlock()
	var err error
	switch {
	case !h.SelfUpdates:
		err = l.WriteAgentStatus(nil)
	case h.agent != nil:
		err = l.WriteAgentStatus(h.agent)
	}
	if err != nil {
		log.Warn("agent update: status not written", "dir", l.Dir, "err", err)
	}
}

// Status is the status of every app (AppsStatus): the apps dir's as the
// host last read it, each app's from its directory.
func (h *Apps) Status() (any, error) { return h.Statuses(), nil }

// Statuses is Status, typed.
func (h *Apps) Statuses() AppsStatus {
	st := AppsStatus{Apps: []AppStatus{}}
	h.agentMu.Lock()
	st.Agent = h.agent
	h.agentMu.Unlock()
	for _, app := range h.set.Apps() {
		a := AppStatus{Name: app.Name, File: app.Path}
		h.mu.Lock()
		run := h.apps[app.Name]
		h.mu.Unlock()
		switch {
		case app.Err != nil:
			a.Error = app.Err.Error()
		case run == nil:
			a.Error = "starting"
		default:
			if s, err := ReadStatus(run.layout); err != nil {
				a.Error = err.Error()
			} else {
				a.Status = &s
			}
		}
		st.Apps = append(st.Apps, a)
	}
	return st
}

// Trigger asks for a poll now of the app called name, or of every app
// that runs when name is "". The git sources' listings are not shared
// with polls begun before: the branch has just moved.
func (h *Apps) Trigger(name string) (string, error) {
	known := false
	for _, a := range h.set.Apps() {
		known = known || a.Name == name
	}
	if name != "" && !known {
		return "", &NoSuchAppError{Name: name}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var runs []*appRun
	for app, run := range h.apps {
		if name == "" || app == name {
			runs = append(runs, run)
		}
	}
	if name != "" && len(runs) == 0 {
		return "", fmt.Errorf("app %s does not run (see GET /status)", name)
	}
	// Every source invalidated before any poll starts: an invalidation
	// after one app's listing began would make the next app list again.
	for _, run := range runs {
		run.git.Invalidate()
	}
	if name == "" {
		h.invalidateAll() // the agent's own file's source too (Join)
	}
	for _, run := range runs {
		run.agent.Trigger()
	}
	if name == "" && h.PollAgent != nil {
		h.PollAgent()
	}
	return fmt.Sprintf("poll scheduled (%d apps)", len(runs)), nil
}

// invalidateAll makes every shared git source list afresh at its next
// Head (Shared.Invalidate); the caller holds h.mu.
func (h *Apps) invalidateAll() {
	for _, g := range h.groups {
		g.shared.Invalidate()
	}
}

// Gather is /metrics: the Go and process collectors once, then every
// running app's series, labelled with its name.
func (h *Apps) Gather() ([]*dto.MetricFamily, error) {
	gs := prometheus.Gatherers{h.base}
	h.mu.Lock()
	for _, run := range h.apps {
		gs = append(gs, run.reg)
	}
	h.mu.Unlock()
	return gs.Gather()
}
