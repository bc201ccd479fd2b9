package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/spf13/cobra"
)

func newWatchCmd(stderr io.Writer) *cobra.Command {
	var (
		c      Config
		resync time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch --dir DIR [flags]",
		Short: "Act on release/current.conf alone: switch links, restart the app",
		Long: `watch runs the watcher alone, for people who still push releases by hand as
in the seed design (the hand-run layout this tool grew from: app.bin and
app.cfg links into release/, switched by editing release/current.conf): scp
release/app.<version> in, edit release/current.conf (atomic rename or in
place, vim, sed -i), and the links are switched and the app is signalled. A
relative bin.file or cfg.file is taken relative to release/. A file pointing
outside release/, at a missing file or at a binary this machine cannot run is
refused with a log line and nothing changes. A release that does not come up
healthy is switched back. --dir must be an app directory already (holding
release/ or .reconciler/).

SIGHUP looks again at once (release/current.conf, the links, the app), as
the --resync timer does; it never stops watch. SIGTERM or SIGINT stop it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			if err := c.validateDir(); err != nil {
				return err
			}
			if err := c.resolveApply(); err != nil {
				return err
			}
			log, err := newLogger(c.LogFormat, stderr, slog.LevelInfo)
			if err != nil {
				return err
			}
			return runWatch(cmd.Context(), &c, resync, log)
		},
	}
	c.addDirFlag(cmd.Flags())
	c.addApplyFlags(cmd.Flags())
	c.addLogFlag(cmd.Flags())
	cmd.Flags().DurationVar(&resync, "resync", 30*time.Second, "also re-check this often, in case an event was missed")
	hideFlags(cmd, "max-artifact-size", "keep", "crash-loop", "registry-config", "registry-insecure", "s3-endpoint", "s3-region", "s3-instance-credentials") // watch downloads and prunes nothing, and does not watch the process; accepted for shared env files
	return cmd
}

func runWatch(ctx context.Context, c *Config, resync time.Duration, log *slog.Logger) error {
	hup := newHUPRelay() // first: a SIGHUP from now on looks again, never kills
	defer hup.Close()
	// watch serves people who fill release/ by hand: release/ is enough,
	// but a directory that is not an app directory is refused.
	if layout, err := reconcile.NewLayout(c.Dir); err != nil || layout.CheckAppDir() != nil {
		if err == nil {
			err = layout.CheckAppDir()
		}
		return asUsage(err) // exit 2, as every command's mistyped --dir
	}
	warnNoHealthCheck(c, log)
	layout, lock, err := lockDir(c.Dir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	eng := newLocalEngine(c, layout, log)
	defer closeNotifier(ctx, startNotifier(ctx, c, eng, nil, log))
	la := &localApplier{eng: eng, log: log.With("dir", layout.Dir)}
	if err := restart.CleanLinks(layout.Dir); err != nil {
		log.Warn("clean temporary links", "err", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	poke := make(chan struct{}, 1)
	werr := make(chan error, 1)
	go func() { werr <- restart.Watcher{Dir: layout.Dir, Log: log}.Run(ctx, poke) }()
	tick := time.NewTicker(resync)
	defer tick.Stop()
	looks := make(chan struct{}, 1)
	hup.start(ctx, log, "SIGHUP: looking again", func() {
		select {
		case looks <- struct{}{}:
		default: // a look is pending
		}
	})
	log.Info("watching", "dir", layout.Dir, "file", layout.Rel(layout.CurrentConf()))
	for {
		select {
		case <-ctx.Done():
			return <-werr
		case err := <-werr:
			return err
		case <-poke:
			la.apply(ctx)
		case <-looks:
			la.apply(ctx)
		case <-tick.C:
			la.apply(ctx)
		}
	}
}

// localApplier applies release/current.conf and logs each distinct failure
// once, so a refused hand edit does not flood the log at every re-check.
type localApplier struct {
	eng     *reconcile.Engine
	log     *slog.Logger
	lastErr string
}

func (a *localApplier) apply(ctx context.Context) {
	err := a.eng.ApplyLocal(ctx)
	switch {
	case err == nil:
		a.lastErr = ""
	case ctx.Err() != nil:
	case err.Error() != a.lastErr:
		a.lastErr = err.Error()
		a.log.Error("release/current.conf not applied", "err", err)
	}
}
