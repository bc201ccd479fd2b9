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
	src     *gitsrc.Source
	fetcher *artifacts.Fetcher
}

// newEngine wires the concrete parts into a reconcile.Engine: the one
// constructor of every command. cacheDir "" keeps the git cache in memory
// (the dry run writes nothing in --dir).
func newEngine(c *Config, layout reconcile.Layout, cacheDir string, log *slog.Logger) (wired, error) {
	opts, err := sourceOptions(c, cacheDir)
	if err != nil {
		return wired{}, err
	}
	src, err := gitsrc.New(opts)
	if err != nil {
		return wired{}, &usageError{msg: "--repo: " + err.Error()}
	}
	stores, err := newStores(c)
	if err != nil {
		return wired{}, err
	}
	fetcher := &artifacts.Fetcher{MaxSize: c.maxSizeBytes, Client: artifacts.NewClient(c.tlsConf), Stores: stores}
	eng := &reconcile.Engine{
		Layout:   layout,
		Path:     c.Path,
		Repo:     src,
		Download: fetcher,
		Switcher: newSwitcher(c, layout, log),
		Hooks:    newHooks(c, layout, log),
		Log:      log.With("dir", layout.Dir),
		Keep:     c.Keep, // every command that switches prunes
		HostID:   c.HostID,
		Exits:    exitPolicy(c),
	}
	if !c.windows.Empty() {
		eng.Windows, eng.IgnoreWindows = c.windows, c.IgnoreWindows
	}
	if c.trust.Enabled() {
		eng.Verify = commitVerifier{src: src, trust: c.trust}
	}
	if c.AgeIdentity != "" {
		eng.Decrypter = agecfg.Decrypter{IdentityFile: c.AgeIdentity}
		if w := agecfg.Check(c.AgeIdentity); w != "" {
			log.Warn(w)
		}
	}
	return wired{Engine: eng, src: src, fetcher: fetcher}, nil
}

// sourceOptions are the deploy repo settings of c, for a gitsrc.Source or
// a gitsrc.Shared.
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
// that switches (sync, run). The caller unlocks.
func openEngine(c *Config, log *slog.Logger) (wired, *reconcile.Lock, error) {
	layout, lock, err := lockDir(c.Dir)
	if err != nil {
		return wired{}, nil, err
	}
	w, err := newEngine(c, layout, layout.GitCache(), log)
	if err != nil {
		lock.Unlock()
		return wired{}, nil, err
	}
	warnNoHealthCheck(c, log)
	warnUnguarded(c, log)
	return w, lock, nil
}

// commitVerifier binds the trust settings to the deploy repo (a
// *gitsrc.Source, or a *gitsrc.Handle of a repo several apps share).
type commitVerifier struct {
	src interface {
		VerifyCommit(ctx context.Context, rev string, t gitsrc.Trust) (string, error)
	}
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
