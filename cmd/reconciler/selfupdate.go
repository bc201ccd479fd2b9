package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/selfupdate"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/pflag"
)

// selfUpdateFlags are run's settings of the agent's own updates
// (--agent-*): off without --agent-path.
type selfUpdateFlags struct {
	Path, Repo, Ref, Dir string
	ConfirmTimeout       time.Duration
}

func (f *selfUpdateFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.Path, "agent-path", "", "the agent's own desired file in the deploy repo ({hostname} expanded); the agent updates itself to the release it names (off when empty)")
	fs.StringVar(&f.Repo, "agent-repo", "", "the repo of --agent-path (default: --repo, with its credentials and --verify-* settings; required with --apps-dir when the agent has no --repo)")
	fs.StringVar(&f.Ref, "agent-ref", "", "the branch or tag of --agent-path (default: --ref)")
	fs.StringVar(&f.Dir, "agent-dir", "", "where agent releases are kept (default: $STATE_DIRECTORY/agent, else /var/lib/reconciler/agent)")
	fs.DurationVar(&f.ConfirmTimeout, "agent-confirm-timeout", 2*time.Minute, "how long a new agent release has to start, take the configuration and complete a verified poll before it is stopped and recorded failed")
}

// agentUpdateFlags are the --agent-* flags: settings of the agent itself
// under --apps-dir.
var agentUpdateFlags = []string{"agent-path", "agent-repo", "agent-ref", "agent-dir", "agent-confirm-timeout"}

// agentDir is --agent-dir, or its default.
func (f *selfUpdateFlags) agentDir() string {
	if f.Dir != "" {
		return f.Dir
	}
	return agentdir.DefaultDir(os.Getenv)
}

// newUpdater builds the agent's updater from c and f, nil without
// --agent-path. Its repo is read into memory (no cache on disk: a
// successor's confirming poll runs beside the old agent, which holds the
// directory's lock).
func newUpdater(c *Config, f *selfUpdateFlags, log *slog.Logger) (*selfupdate.Updater, error) {
	if f.Path == "" {
		return nil, nil
	}
	if f.ConfirmTimeout <= 0 {
		return nil, &usageError{msg: "--agent-confirm-timeout must be positive"}
	}
	ac := *c
	if f.Repo != "" {
		ac.Repo = f.Repo
	}
	if f.Ref != "" {
		ac.Ref = f.Ref
	}
	path := strings.TrimPrefix(f.Path, "./")
	if strings.Contains(path, "{hostname}") {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("expand {hostname} in --agent-path: %w", err)
		}
		path = strings.ReplaceAll(path, "{hostname}", host)
	}
	if err := gitsrc.CheckPath(path); err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--agent-path %q: %v", f.Path, err)}
	}
	opts, err := sourceOptions(&ac, "")
	if err != nil {
		return nil, err
	}
	src, err := gitsrc.New(opts)
	if err != nil {
		return nil, &usageError{msg: "--agent-repo: " + err.Error()}
	}
	stores, err := newStores(c)
	if err != nil {
		return nil, err
	}
	dir := f.agentDir()
	store, err := agentdir.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("--agent-dir: %w", err)
	}
	up := &selfupdate.Updater{Repo: src, Path: path, HostID: c.HostID, Store: store,
		Download:       &artifacts.Fetcher{MaxSize: c.maxSizeBytes, Client: artifacts.NewClient(c.tlsConf), Stores: stores},
		Running:        runningVersion(),
		ConfirmTimeout: f.ConfirmTimeout,
		Log:            log.With("agent_path", path, "agent_dir", dir)}
	if c.trust.Enabled() {
		up.Verify = func(ctx context.Context, rev string) error {
			_, err := src.VerifyCommit(ctx, rev, c.trust)
			return err
		}
	}
	return up.Init(), nil
}

// runningVersion is the version of this agent: the release of the agent
// dir it was started as (by the start's choice or a handover), else the
// version stamped into it.
func runningVersion() string {
	if v := os.Getenv(agentdir.ChosenEnv); v != "" {
		return v
	}
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return unknown
}

// runningRevision is the commit this agent was built from.
func runningRevision() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if rev, _, _ := vcsInfo(bi); rev != "" {
			return rev
		}
	}
	return unknown
}

// startUpdater readies up (nil: off) for an agent: its metrics, its
// status file, its notifications, how a successor is launched. Without
// one, a status file an earlier agent left is removed.
func startUpdater(up *selfupdate.Updater, layout reconcile.Layout, reg prometheus.Registerer, n reconcile.Notifier, ln net.Listener) {
	if up == nil {
		_ = layout.WriteAgentStatus(nil)
		return
	}
	up.Revision = runningRevision()
	up.Report = func(st reconcile.AgentStatus) error { return layout.WriteAgentStatus(&st) }
	up.Metrics = selfupdate.NewMetrics(reg, up.Running, up.Revision)
	if n != nil {
		up.Notify = n.Notify
	}
	up.Launch = selfupdate.Launch{Args: os.Args[1:], Env: os.Environ()}
	if ln != nil {
		up.Launch.Listener = selfupdate.ListenerFile(ln)
	}
}

// confirmAsSuccessor is the start of an agent started by another to take
// over (hand non-nil): one poll of the agent file that reached the repo
// and verified the commit, then ready, then the old agent's go.
func confirmAsSuccessor(ctx context.Context, hand *selfupdate.Handover, up *selfupdate.Updater, log *slog.Logger) error {
	if hand == nil {
		return nil
	}
	if up == nil {
		return errors.New("started to take over from an agent, without --agent-path")
	}
	return hand.Confirm(ctx, func(ctx context.Context) error {
		_, _, err := up.Observe(ctx)
		return err
	}, log)
}

// handoverLockWait bounds how long a successor waits for the old agent
// to let go of the directory: the old agent finishes or undoes a switch
// under way before it does (--health-timeout, --health-bake).
const handoverLockWait = 15 * time.Minute

// openAgentEngine is openEngine for run; a successor waits for the old
// agent to let go of the lock. With an updater (up) that reads the app's
// repo and ref, the engine's git source is shared with it (sharedEngine).
func openAgentEngine(ctx context.Context, c *Config, hand *selfupdate.Handover, up *selfupdate.Updater, f *selfUpdateFlags, log *slog.Logger) (eng wired, lock *reconcile.Lock, err error) {
	err = waitUnlocked(ctx, hand != nil, c.Dir, log, func() error {
		if up != nil && f.sharesAppRepo(c) {
			eng, lock, err = lockedEngine(c, log, func(layout reconcile.Layout) (wired, error) {
				return sharedEngine(c, layout, up, log)
			})
		} else {
			eng, lock, err = openEngine(c, log)
		}
		return err
	})
	return eng, lock, err
}

// sharesAppRepo reports that the agent file is read from the app's repo
// and ref: --agent-repo and --agent-ref unset, or naming the same.
func (f *selfUpdateFlags) sharesAppRepo(c *Config) bool {
	return gitsrc.SameRepo(gitsrc.Options{URL: c.Repo, Ref: c.Ref}, gitsrc.Options{URL: cmp.Or(f.Repo, c.Repo), Ref: cmp.Or(f.Ref, c.Ref)})
}

// sharedEngine is the engine of run --dir on a git source (its cache in
// the directory, as openEngine's) that the updater reads too: the
// updater's Poll takes the head the app's poll just listed (a Follower)
// and reads the agent file from the app's cache, so that a poll of the
// agent costs the git host one ref listing, not two. Its own source stays
// for the successor's confirming poll.
func sharedEngine(c *Config, layout reconcile.Layout, up *selfupdate.Updater, log *slog.Logger) (wired, error) {
	opts, err := sourceOptions(c, layout.GitCache())
	if err != nil {
		return wired{}, err
	}
	shared, err := gitsrc.NewShared(opts, 0) // 0: the engine's polls share nothing but with the updater
	if err != nil {
		return wired{}, &usageError{msg: "--repo: " + err.Error()}
	}
	w, err := newEngineOn(c, layout, shared.Handle(), log)
	if err != nil {
		return wired{}, err
	}
	follower := shared.Follower()
	up.Shared = &selfupdate.Reading{Repo: follower}
	if c.trust.Enabled() {
		up.Shared.Verify = func(ctx context.Context, rev string) error {
			_, err := follower.VerifyCommit(ctx, rev, c.trust)
			return err
		}
	}
	return w, nil
}

// waitUnlocked calls open once, and, for a successor (handover) while it
// fails with reconcile.ErrLocked, again every 10 ms up to
// handoverLockWait: the old agent lets go of dir once it has finished or
// undone a switch under way.
func waitUnlocked(ctx context.Context, handover bool, dir string, log *slog.Logger, open func() error) error {
	err := open()
	if !handover || !errors.Is(err, reconcile.ErrLocked) {
		return err
	}
	log.Info("agent update: waiting for the old agent to let go of the directory", "dir", dir)
	deadline := time.Now().Add(handoverLockWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for errors.Is(err, reconcile.ErrLocked) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		err = open()
	}
	return err
}

// listenAgent is the agent's listener: the one handed over by the old
// agent, else a new one on addr ("" : none).
func listenAgent(addr string, hand *selfupdate.Handover) (net.Listener, error) {
	ln, ok, err := hand.Listener()
	if ok || err != nil {
		if err != nil {
			return nil, fmt.Errorf("--listen: the socket handed over: %w", err)
		}
		return ln, nil
	}
	if addr == "" {
		return nil, nil
	}
	if ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	return ln, nil
}

// runUpdater runs up (nil: nothing) beside the agent, looking at the
// agent file after each of the agent's polls. When it has handed over, it
// stores the successor in *succ and calls handedOver, which stops this
// agent. wait returns once it has stopped.
func runUpdater(ctx context.Context, up *selfupdate.Updater, agent *reconcile.Agent, handedOver func()) (succ **selfupdate.Successor, wait func()) {
	var s *selfupdate.Successor
	if up == nil {
		return &s, func() {}
	}
	agent.AfterPoll = up.Trigger
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s, _ = up.Run(ctx); s != nil {
			handedOver()
		}
	}()
	return &s, func() { <-done }
}

// newAppsUpdater is newUpdater for `run --apps-dir`: the agent's own
// --repo, --ref, credentials and --verify-* settings (its command line and
// environment, never an app file's), --agent-repo required when it has no
// --repo. nil without --agent-path. It also returns those settings,
// resolved (the agent's --notify-* among them).
func newAppsUpdater(c *Config, f *selfUpdateFlags, log *slog.Logger) (*selfupdate.Updater, *Config, error) {
	if f.Path == "" {
		return nil, nil, nil
	}
	if c.Repo == "" && f.Repo == "" {
		return nil, nil, &usageError{msg: "--agent-path with --apps-dir: --agent-repo is required (the agent has no --repo of its own)"}
	}
	ac := *c
	if f.Repo != "" {
		ac.Repo = f.Repo
	}
	if f.Ref != "" {
		ac.Ref = f.Ref
	}
	ac.Path = f.Path
	if err := runSteps(ac.resolveSource, ac.resolveMaxSize, ac.Notify.resolve); err != nil {
		return nil, nil, err
	}
	up, err := newUpdater(&ac, f, log)
	return up, &ac, err
}

// startAppsUpdater readies u.up (nil: off) for the agent of --apps-dir,
// host: its metrics beside the apps', its status in every app's
// directory, a look at its file at each POST /reconcile of every app and
// each SIGHUP, how a successor is launched, and agent_updated and
// agent_failed sent to the agent's own --notify-url (its command line
// and environment, never an app file's; the body's dir is the apps dir).
// It returns that notifier (nil: none), for closeNotifier.
func startAppsUpdater(ctx context.Context, u appsUpdate, host *agenthost.Apps, appsDir string, ln net.Listener, log *slog.Logger) *notify.Sender {
	up := u.up
	if up == nil {
		return nil
	}
	host.SelfUpdates, host.PollAgent = true, up.Trigger
	if err := shareAppsRepo(u, host); err != nil {
		log.Warn("agent update: reading the agent file through a git source of its own", "err", err)
	}
	up.Revision, up.Report = runningRevision(), host.ReportAgent
	up.Metrics = selfupdate.NewMetrics(host.Registry(), up.Running, up.Revision)
	up.Launch = selfupdate.Launch{Args: os.Args[1:], Env: os.Environ()}
	if ln != nil {
		up.Launch.Listener = selfupdate.ListenerFile(ln)
	}
	if len(u.c.Notify.urls) == 0 {
		return nil
	}
	s := newSender(ctx, u.c, appsDir, notify.NewMetrics(host.Registry()), log) // its series without app
	up.Notify = s.Notify
	return s
}

// shareAppsRepo makes the updater of --apps-dir read through the git
// source the host shares among the apps of the agent's repo, ref and
// credentials (agenthost.Apps.Join; its cache in --cache-dir): at a tick
// of the apps' schedule, or a POST /reconcile, the agent's read and the
// apps' polls make one ref listing, and the agent file is read from the
// apps' cache. The source is kept for the host's life. The successor's
// confirming poll still reads through the updater's own source. The host
// invalidates the source before a read someone asked for (PollAgent at a
// POST /reconcile or SIGHUP): a listing begun before is not the news.
func shareAppsRepo(u appsUpdate, host *agenthost.Apps) error {
	opts, err := sourceOptions(u.c, "")
	if err != nil {
		return err
	}
	handle, _, err := host.Join(repoKey(u.c), opts)
	if err != nil {
		return err
	}
	u.up.Shared = &selfupdate.Reading{Repo: handle}
	if trust := u.c.trust; trust.Enabled() {
		u.up.Shared.Verify = func(ctx context.Context, rev string) error {
			_, err := handle.VerifyCommit(ctx, rev, trust)
			return err
		}
	}
	return nil
}

// runAppsUpdater runs up (nil: nothing) beside the apps, looking at the
// agent file at once and then at each tick of sched (the agent's
// --schedule and --jitter as the apps poll on them: Apps.Schedule). When
// it has handed over, it stores the successor in *succ and calls
// handedOver, which stops the apps' agents. wait returns once it has
// stopped.
func runAppsUpdater(ctx context.Context, up *selfupdate.Updater, sched reconcile.Schedule, handedOver func()) (succ **selfupdate.Successor, wait func()) {
	var s *selfupdate.Successor
	if up == nil {
		return &s, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s, _ = up.Run(ctx); s != nil {
			handedOver()
		}
	}()
	go func() {
		up.Trigger()
		for {
			t := time.NewTimer(time.Until(sched.Next(time.Now())))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-done:
				t.Stop()
				return
			case <-t.C:
				up.Trigger()
			}
		}
	}()
	return &s, func() { <-done }
}

// endAgent is an agent's last steps once its loop ended with err, in the
// order a handover needs (run --dir and --apps-dir alike): wait for the
// updater, let go of the lock (delivering what is queued needs none; a
// successor waits for it), stop serving (a successor has the shared
// socket by then), deliver what is queued, and, when it handed over, end
// as the successor says (Successor.Release). handed says whether it did.
func endAgent(ctx context.Context, err error, wait func(), lock *reconcile.Lock, stopServing func() error,
	notifier *notify.Sender, succ **selfupdate.Successor, log *slog.Logger) (handed bool, _ error) {
	wait()
	lock.Unlock()
	if serr := stopServing(); err == nil {
		err = serr
	}
	closeNotifier(ctx, notifier)
	if s := *succ; s != nil { // the successor is the agent now, whatever this one's end
		log.Info("agent update: handed over; this agent exits", "version", s.Version, "pid", s.PID(), "err", err)
		return true, s.Release()
	}
	return false, err
}
