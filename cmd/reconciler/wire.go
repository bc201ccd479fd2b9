package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/agecfg"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// wired is an engine with the concrete parts it was built from, so a
// caller that needs one (metrics read the git source's counters, sync shows
// download progress) holds it without asserting an interface back.
type wired struct {
	*reconcile.Engine
	src     gitRepo
	fetcher *artifacts.Fetcher
}

// gitRepo is the deploy repo of an engine: a *gitsrc.Source of its own
// (newSource), or a *gitsrc.Handle on the source the apps of one repo share
// (`run --apps-dir`).
type gitRepo interface {
	reconcile.Repo
	Stats() gitsrc.Stats
	VerifyCommit(ctx context.Context, rev string, t gitsrc.Trust) (string, error)
}

// newEngine wires the concrete parts into a reconcile.Engine, on a git
// source of its own with its cache in cacheDir ("" keeps it in memory: the
// dry run writes nothing in --dir).
func newEngine(c *Config, layout reconcile.Layout, cacheDir string, log *slog.Logger) (wired, error) {
	src, err := newSource(c, cacheDir)
	if err != nil {
		return wired{}, err
	}
	return newEngineOn(c, layout, src, log)
}

// newEngineOn wires the concrete parts into a reconcile.Engine reading
// repo: the one constructor of every command's engine (watch's is its
// local part, newLocalEngine).
func newEngineOn(c *Config, layout reconcile.Layout, repo gitRepo, log *slog.Logger) (wired, error) {
	stores, err := newStores(c)
	if err != nil {
		return wired{}, err
	}
	fetcher := &artifacts.Fetcher{MaxSize: c.maxSizeBytes, Client: artifacts.NewClient(c.tlsConf), Stores: stores}
	eng := newLocalEngine(c, layout, log)
	eng.Path, eng.Repo, eng.Download = c.Path, repo, fetcher
	eng.Keep = c.Keep // every command that switches prunes
	eng.HostID, eng.Exits = c.HostID, exitPolicy(c)
	if !c.windows.Empty() {
		eng.Windows, eng.IgnoreWindows = c.windows, c.IgnoreWindows
	}
	if c.trust.Enabled() {
		eng.Verify = commitVerifier{src: repo, trust: c.trust}
	}
	if c.AgeIdentity != "" {
		eng.Decrypter = agecfg.Decrypter{IdentityFile: c.AgeIdentity}
		if w := agecfg.Check(c.AgeIdentity); w != "" {
			log.Warn(w)
		}
	}
	return wired{Engine: eng, src: repo, fetcher: fetcher}, nil
}

// newLocalEngine is the part of an engine that acts on the app directory
// alone (the links, the app, the hooks): watch's whole engine, and what
// newEngineOn adds the deploy repo to.
func newLocalEngine(c *Config, layout reconcile.Layout, log *slog.Logger) *reconcile.Engine {
	return &reconcile.Engine{Layout: layout, Switcher: newSwitcher(c, layout, log), Hooks: newHooks(c, layout, log),
		Log: log.With("dir", layout.Dir)}
}

// newSource is the git source of c's deploy repo, with its cache in
// cacheDir ("": in memory): the one constructor of every command's.
func newSource(c *Config, cacheDir string) (*gitsrc.Source, error) {
	opts, err := sourceOptions(c, cacheDir)
	if err != nil {
		return nil, err
	}
	src, err := gitsrc.New(opts)
	if err != nil {
		return nil, &usageError{msg: "--repo: " + err.Error()}
	}
	return src, nil
}

// sourceOptions are the deploy repo settings of c, for a gitsrc.Source
// (newSource) or a gitsrc.Shared (`run --apps-dir`).
func sourceOptions(c *Config, cacheDir string) (gitsrc.Options, error) {
	auth, err := gitsrc.NewAuth(c.Repo, gitsrc.AuthOptions{SSHKeyFile: c.SSHKey, KnownHostsFile: c.KnownHosts,
		TokenFile: c.TokenFile, Token: c.gitToken()})
	if err != nil {
		return gitsrc.Options{}, &usageError{msg: err.Error()}
	}
	return gitsrc.Options{URL: c.Repo, Ref: c.Ref, CacheDir: cacheDir, Timeout: c.GitTimeout,
		CABundle: c.caPEM, Auth: auth, MaxStreamSize: c.maxSizeBytes}, nil
}

// gitToken is the HTTPS token of RECONCILER_GIT_TOKEN: an --apps-dir
// file's, else the environment's.
func (c *Config) gitToken() string {
	if c.appToken != nil {
		return *c.appToken
	}
	return os.Getenv("RECONCILER_GIT_TOKEN")
}

// openEngine locks the app directory and builds the engine of a command
// that switches (sync, run), on a git source of its own cached in the
// directory. The caller unlocks.
func openEngine(c *Config, log *slog.Logger) (wired, *reconcile.Lock, error) {
	return lockedEngine(c, log, func(layout reconcile.Layout) (wired, error) {
		return newEngine(c, layout, layout.GitCache(), log)
	})
}

// openEngineOn is openEngine on repo, a git source shared with other apps.
func openEngineOn(c *Config, repo gitRepo, log *slog.Logger) (wired, *reconcile.Lock, error) {
	return lockedEngine(c, log, func(layout reconcile.Layout) (wired, error) {
		return newEngineOn(c, layout, repo, log)
	})
}

// lockedEngine locks c's directory, then builds its engine with build.
func lockedEngine(c *Config, log *slog.Logger, build func(reconcile.Layout) (wired, error)) (wired, *reconcile.Lock, error) {
	layout, lock, err := lockDir(c.Dir)
	if err != nil {
		return wired{}, nil, err
	}
	w, err := build(layout)
	if err != nil {
		lock.Unlock()
		return wired{}, nil, err
	}
	warnNoHealthCheck(c, log)
	warnUnguarded(c, log)
	return w, lock, nil
}

// commitVerifier binds the trust settings to the deploy repo.
type commitVerifier struct {
	src   gitRepo
	trust gitsrc.Trust
}

func (v commitVerifier) VerifyCommit(ctx context.Context, rev string) (string, error) {
	return v.src.VerifyCommit(ctx, rev, v.trust)
}

func newSwitcher(c *Config, layout reconcile.Layout, log *slog.Logger) *restart.Switcher {
	return &restart.Switcher{
		Dir:           layout.Dir,
		Mode:          c.mode,
		Exec:          c.Exec,
		AppCred:       c.appCred,
		HealthURL:     c.HealthURL,
		HealthCmd:     c.HealthCmd,
		HealthTCP:     c.HealthTCP,
		HealthTimeout: c.HealthTimeout,
		HealthBake:    c.HealthBake,
		DrainTimeout:  c.DrainTimeout,
		Reaped:        &restart.Reaped{},
		Log:           log.With("dir", layout.Dir),
	}
}

// newHooks wires the hooks that are configured.
func newHooks(c *Config, layout reconcile.Layout, log *slog.Logger) reconcile.Hooks {
	hook := func(k reconcile.HookKind, cmd string) reconcile.HookRunner {
		if cmd == "" {
			return nil
		}
		return &restart.Hook{Name: string(k), Dir: layout.Dir, Cmd: cmd, Timeout: c.HookTimeout, Log: log.With("dir", layout.Dir)}
	}
	return reconcile.Hooks{
		PreSwitch:  hook(reconcile.HookPreSwitch, c.PreSwitch),
		PostSwitch: hook(reconcile.HookPostSwitch, c.PostSwitch),
		OnRollback: hook(reconcile.HookOnRollback, c.OnRollback),
	}
}

// warnNoHealthCheck says at start what a switch is judged by when no
// health check is configured: a release that starts and serves nothing
// passes.
func warnNoHealthCheck(c *Config, log *slog.Logger) {
	if c.HealthURL == "" && c.HealthCmd == "" && c.HealthTCP == "" && c.mode != restart.ModeNone {
		log.Warn("no --health-url, --health-cmd or --health-tcp: a switch counts as done once the new process runs the new binary and stays up for half a second; give one to check that it serves")
	}
}
