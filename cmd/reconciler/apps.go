package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/internal/selfupdate"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// appsFlags are the settings of `run --apps-dir` and `status --apps-dir`.
type appsFlags struct {
	AppsDir  string
	CacheDir string
}

func (x *appsFlags) addRunFlags(fs *pflag.FlagSet) {
	fs.StringVar(&x.AppsDir, "apps-dir", "", "run one app per NAME.env file of this directory (RECONCILER_* settings over this command line's); instead of --dir")
	fs.StringVar(&x.CacheDir, "cache-dir", "", "with --apps-dir: where the git caches of the deploy repos live, one per repo and ref shared by its apps (default: $CACHE_DIRECTORY, else /var/cache/reconciler)")
}

func (x *appsFlags) addStatusFlags(fs *pflag.FlagSet) {
	fs.StringVar(&x.AppsDir, "apps-dir", "", "one line per app of this directory of NAME.env files (as run --apps-dir); instead of --dir")
}

// appsMode reports whether a command runs over an apps dir: --apps-dir
// given, or RECONCILER_APPS_DIR set. It is asked before bindEnv, which
// must run once.
func appsMode(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("apps-dir") || os.Getenv(envName("apps-dir")) != ""
}

// agentOnlyFlags are the settings of the agent itself, one for all its apps:
// an app file that sets one is warned about, and it is ignored there.
var agentOnlyFlags = append([]string{"apps-dir", "cache-dir", "listen", "webhook-secret-file", "log-format"}, agentUpdateFlags...)

// runAppsCmd is `run --apps-dir`.
func runAppsCmd(cmd *cobra.Command, c *Config, a *agentFlags, x *appsFlags, stderr io.Writer) error {
	if err := bindEnv(cmd); err != nil {
		return err
	}
	if c.Dir != "" {
		return &usageError{msg: "--dir and --apps-dir: give one (--dir runs one app, --apps-dir one per file of a directory)"}
	}
	sched, err := parseSchedule(a.Schedule)
	if err != nil {
		return err
	}
	log, err := newLogger(c.LogFormat, stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	d := newAppDefaults(cmd, c, a)
	up, ac, err := newAppsUpdater(c, &a.Update, log)
	if err != nil {
		return err
	}
	return runApps(cmd.Context(), d, x, a, appsUpdate{up: up, sched: sched, c: ac}, log)
}

// appsUpdate is the agent's own update under --apps-dir: its updater (nil:
// off), the schedule it looks at the agent file on, and the agent's own
// settings it was made with (its --notify-* tell agent_updated and
// agent_failed).
type appsUpdate struct {
	up    *selfupdate.Updater
	sched cron.Schedule
	c     *Config
}

// newAppDefaults takes the settings of the agent's run command, once its
// command line is parsed and bindEnv has run.
func newAppDefaults(cmd *cobra.Command, c *Config, a *agentFlags) appDefaults {
	d := appDefaults{c: *c, a: *a, known: knownEnv(cmd.Root())}
	cmd.Flags().Visit(func(f *pflag.Flag) { d.changed = append(d.changed, f.Name) })
	return d
}

// appDefaults are what every app's settings start from: the agent's own
// command line and environment.
type appDefaults struct {
	c       Config
	a       agentFlags
	changed []string // the flags set on the command line or by the environment
	known   []string // every RECONCILER_* variable any command reads
	// handover: this agent is the successor of one that still holds the
	// apps' directories; each app waits for its lock (waitUnlocked).
	handover bool
}

// settings are the settings of the app of f: the defaults with the file's
// RECONCILER_* settings over them, validated as `run --dir` validates its
// own (setup).
func (d *appDefaults) settings(f appset.File, log *slog.Logger) (*Config, *agentFlags, error) {
	vars, err := agenthost.ParseAppFile(f)
	if err != nil {
		return nil, nil, err
	}
	cmd, c, a := runCommand(io.Discard)
	cmd.SetErr(io.Discard) // setup's bindEnv would warn again about the agent's environment
	*c, *a = d.c, d.a
	for _, name := range d.changed {
		cmd.Flags().Lookup(name).Changed = true // so setup's bindEnv leaves them
	}
	for _, v := range vars {
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(v.Name, "RECONCILER_"), "_", "-"))
		switch fl := cmd.Flags().Lookup(flag); {
		case v.Name == "RECONCILER_GIT_TOKEN":
			token := v.Value
			c.appToken = &token
		case fl != nil && slices.Contains(agentOnlyFlags, flag):
			log.Warn("ignoring a setting of the agent itself in an app file", "file", f.Path, "line", v.Line, "setting", v.Name)
		case fl != nil:
			resetList(fl)
			if err := cmd.Flags().Set(flag, v.Value); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %s=%s: %w", f.Path, v.Line, v.Name, v.Value, envCause(err))
			}
		case !slices.Contains(d.known, v.Name): // another command's is no typo: one file serves them all
			log.Warn("ignoring "+v.Name+": no such setting", "file", f.Path, "line", v.Line, "did_you_mean", closestEnv(v.Name, d.known))
		}
	}
	if err := setup(cmd, c, true); err != nil {
		return nil, nil, appFileError(f, err)
	}
	if _, err := parseSchedule(a.Schedule); err != nil {
		return nil, nil, appFileError(f, err)
	}
	return c, a, nil
}

// resetList empties a repeatable flag before an app file's value replaces
// the agent's: such a flag appends on Set (--window), and a file's setting
// overrides, as a single value's does. It also leaves the agent's slice,
// which every app's settings started from, alone.
func resetList(fl *pflag.Flag) {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		_ = sv.Replace(nil)
		return
	}
	if v := reflect.ValueOf(fl.Value); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
		v.Elem().Set(reflect.Zero(v.Elem().Type()))
	}
}

// appFileError names the app file a refused setting came from.
func appFileError(f appset.File, err error) error {
	var u *usageError
	if errors.As(err, &u) {
		return &usageError{msg: f.Path + ": " + u.Error()}
	}
	return fmt.Errorf("%s: %w", f.Path, err)
}

// runApps runs the apps of the apps dir and the HTTP endpoint until ctx
// ends, or until the agent handed over to a new release of itself (u).
func runApps(ctx context.Context, d appDefaults, x *appsFlags, a *agentFlags, u appsUpdate, log *slog.Logger) error {
	hand, err := selfupdate.Inherited() // started by an agent to take over from it
	if err != nil {
		return err
	}
	if fi, err := os.Stat(x.AppsDir); err != nil || !fi.IsDir() {
		return &usageError{msg: fmt.Sprintf("--apps-dir %s: not a directory (%v)", x.AppsDir, err)}
	}
	secret, listen, err := agentEndpoint(a)
	if err != nil {
		return err
	}
	if err := confirmAsSuccessor(ctx, hand, u.up, log); err != nil {
		return err
	}
	d.handover = hand != nil
	cacheDir := x.cacheDir()
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return fmt.Errorf("--cache-dir: %w", err)
	}
	var lock *reconcile.Lock
	err = waitUnlocked(ctx, d.handover, cacheDir, log, func() (err error) {
		_, lock, err = lockDir(cacheDir) // one agent per cache: two would write the same clones
		return err
	})
	if err != nil {
		return fmt.Errorf("--cache-dir: %w", err)
	}
	defer lock.Unlock()
	host := agenthost.NewApps(x.AppsDir, cacheDir, d.openApp, log)
	ln, err := listenAgent(listen, hand)
	if err != nil {
		return err
	}
	notifier := startAppsUpdater(ctx, u, host, x.AppsDir, ln, log)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log.Info("agent starting", "apps_dir", x.AppsDir, "cache_dir", cacheDir, "listen", listen)
	serveCtx, handedOver := context.WithCancel(ctx)
	defer handedOver()
	succ, wait := runAppsUpdater(serveCtx, u.up, host.Schedule(u.sched, a.Jitter), handedOver)
	stopServing := func() error { return nil }
	if ln != nil { // as run --dir's: answers until the apps' and the cache's locks are let go
		stopServing = serveBeyond(ctx, handedOver, agenthost.NewServer(host, secret, log), ln)
	}
	notifyReady(log)
	handed, err := endAgent(ctx, host.Run(serveCtx, hup), wait, lock, stopServing, notifier, succ, log)
	if err == nil && !handed {
		log.Info("agent stopped; the apps keep running")
	}
	return err
}

// agentEndpoint checks --webhook-secret-file and --listen as `run --dir`
// does.
func agentEndpoint(a *agentFlags) (secret []byte, listen string, err error) {
	if a.SecretFile != "" {
		if secret, err = readSecretFile("--webhook-secret-file", a.SecretFile); err != nil {
			return nil, "", err
		}
	}
	if a.Listen != "" {
		if listen, err = loopbackAddr(a.Listen); err != nil {
			return nil, "", err
		}
	}
	return secret, listen, nil
}

// cacheDir is --cache-dir, or systemd's CacheDirectory= ($CACHE_DIRECTORY,
// the first of its list), or /var/cache/reconciler.
func (x *appsFlags) cacheDir() string {
	switch {
	case x.CacheDir != "":
		return x.CacheDir
	case os.Getenv("CACHE_DIRECTORY") != "":
		first, _, _ := strings.Cut(os.Getenv("CACHE_DIRECTORY"), ":")
		return first
	}
	return "/var/cache/reconciler"
}
