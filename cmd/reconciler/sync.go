package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/reconcile"

	"github.com/spf13/cobra"
)

func newSyncCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		c Config
		h handOverFlags
	)
	cmd := &cobra.Command{
		Use:   "sync --repo URL --dir DIR [flags]",
		Short: "Apply the deploy repo's desired state once, now",
		Long: `sync runs one pass: it reads the desired state file at the followed ref,
downloads and verifies every artifact into release/, writes
release/current.conf, switches the app.bin/app.cfg links and SIGHUPs (or
starts) the app, then checks that the new release came up healthy, or
switches back.

It exits 0 when the app runs the desired version, non-zero otherwise (with a
message naming the file, key or URL at fault). On a terminal, downloads show
their progress.

With --window or --deny-window, a new release outside the deploy windows is
not downloaded nor applied: sync says when they open and exits 1.
--ignore-windows deploys anyway (an emergency).

When an agent (reconciler run) runs on --dir, sync hands its request to
that agent instead: the agent polls at once, with its own settings (of
this command line only --ignore-windows is handed over, for that one
pass), and sync waits for its pass (--wait, --no-wait) and prints its
outcome, with the exit code of a sync of its own. If the agent stops
before it answers, sync does the pass itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := setup(cmd, &c, true); err != nil {
				return err
			}
			log, err := newLogger(c.LogFormat, stderr, slog.LevelInfo)
			if err != nil {
				return err
			}
			return runSync(cmd, &c, &h, log, stdout)
		},
	}
	c.addSourceFlags(cmd.Flags())
	c.addDirFlag(cmd.Flags())
	c.addApplyFlags(cmd.Flags())
	hideFlags(cmd, "crash-loop") // a sync ends after its switch: only the agent watches the process
	c.addLogFlag(cmd.Flags())
	c.addWindowFlags(cmd.Flags())
	cmd.Flags().BoolVar(&c.IgnoreWindows, "ignore-windows", false, "deploy now whatever --window and --deny-window say (an emergency; logged as a warning); handed to a running agent for its next pass")
	h.add(cmd.Flags())
	return cmd
}

// setup binds the environment and validates the configuration.
func setup(cmd *cobra.Command, c *Config, apply bool) error {
	if err := bindRepoEnv(cmd, c); err != nil {
		return err
	}
	if err := c.resolveSource(); err != nil {
		return err
	}
	if err := c.validateDir(); err != nil {
		return err
	}
	if apply {
		if err := c.resolveApply(); err != nil {
			return err
		}
	}
	return c.resolveWindows(time.Now())
}

func runSync(cmd *cobra.Command, c *Config, h *handOverFlags, log *slog.Logger, stdout io.Writer) error {
	if layout, pid, ok := runningAgent(c.Dir); ok {
		log.Info("an agent runs on the directory: handing the sync over", "pid", pid, "ignore_windows", c.IgnoreWindows)
		a, answered, err := handOver(cmd.Context(), layout, pid, reconcile.Request{From: "sync", IgnoreWindows: c.IgnoreWindows}, *h)
		switch {
		case errors.Is(err, errAgentGone):
			log.Warn("the agent stopped before answering: syncing here", "pid", pid)
		case err != nil:
			return err
		case !answered:
			handedOver(stdout, layout.Dir, pid)
			return nil
		default:
			return outcome(stdout, layout.Dir, a)
		}
	}
	eng, lock, err := openEngine(c, log)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if isTerminal(cmd.ErrOrStderr()) {
		eng.fetcher.Progress = newProgress(cmd.ErrOrStderr()).update
	}
	notifier := startNotifier(cmd.Context(), c, eng.Engine, nil, log)
	out, err := eng.Sync(cmd.Context())
	lock.Unlock() // the deploy is done: delivering its notifications needs no lock
	if err == nil {
		fmt.Fprintf(stdout, "%s: version %s at %s (%s)\n", eng.Layout.Dir, out.Version, gitrev.Short(out.Rev), out.Result)
	}
	if errors.Is(err, reconcile.ErrDeferred) {
		err = fmt.Errorf("%w; `reconciler sync --ignore-windows` deploys it now (for an emergency)", err)
	}
	closeNotifier(cmd.Context(), notifier)
	return err
}
