package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/reconciler-dev/reconciler/reconcile"

	"github.com/spf13/cobra"
)

func newSuspendCmd(stdout io.Writer) *cobra.Command {
	var (
		c      Config
		reason string
	)
	cmd := &cobra.Command{
		Use:   "suspend --dir DIR --reason TEXT",
		Short: "Take manual control: keep planning, apply nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout, err := openDir(cmd, &c)
			if err != nil {
				return err
			}
			if reason == "" {
				return &usageError{msg: "--reason is required: say why, for whoever finds it suspended"}
			}
			if err := layout.Suspend(reason, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: suspended (%s); `reconciler resume --dir %s` gives control back\n", layout.Dir, reason, c.Dir)
			return nil
		},
	}
	c.addDirFlag(cmd.Flags())
	cmd.Flags().StringVar(&reason, "reason", "", "why (shown in status and metrics)")
	return cmd
}

func newRetryCmd(stdout io.Writer) *cobra.Command {
	var (
		c Config
		h handOverFlags
		a agentRetryFlags
	)
	cmd := &cobra.Command{
		Use:   "retry --dir DIR | retry --agent",
		Short: "Try the failed revision the branch points at again",
		Long: `retry forgets that the revision the branch pointed at in the last poll
failed, so the next sync or poll applies it again. Use it when the failure
came from the agent's own flags or the machine (the app did not handle
SIGHUP, a port was taken), not from the release: a broken release fails
again. It also forgets a download refused for its sha256 at that revision
(downloaded once per revision otherwise), for when the artifact store
served the wrong file and now serves the right one.

When an agent (reconciler run) runs on --dir, it polls at once, and retry
waits for its pass (--wait, --no-wait) and prints its outcome, with the exit
code of a sync. Otherwise the next sync or poll takes the request.

retry --agent forgets instead the releases of the agent itself recorded
failed in --agent-dir (one that could not run here, or a confirmed one
passed over after 3 starts without a good poll), so the agent tries the
version its agent file names again at its next poll. It needs no --dir and
touches no app directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.on {
				if err := bindEnv(cmd); err != nil {
					return err
				}
				return retryAgent(stdout, a.dir)
			}
			layout, err := openDir(cmd, &c)
			if err != nil {
				return err
			}
			st, err := layout.LoadState()
			if err != nil {
				return err
			}
			rev, what := "", ""
			if f, ok := st.HeadFailure(); ok {
				rev, what = f.Revision, "version "+f.Version
			} else if m, ok := st.HeadMismatch(); ok {
				rev, what = m.Revision, "its download of "+m.URL+", refused for its sha256"
			}
			if rev == "" {
				return &exitError{code: 1, err: fmt.Errorf("%s: the revision the branch points at (as of the last poll) has not failed: nothing to retry", layout.Dir)}
			}
			if err := layout.RequestRetry(rev); err != nil {
				return err
			}
			pid, ok := layout.RunningAgent()
			if !ok {
				fmt.Fprintf(stdout, "%s: revision %s (%s) will be tried again at the next sync or poll\n", layout.Dir, shortRev(rev), what)
				return nil
			}
			fmt.Fprintf(stdout, "%s: revision %s (%s) will be tried again now\n", layout.Dir, shortRev(rev), what)
			return pollThroughAgent(cmd.Context(), stdout, layout, pid, "retry", h)
		},
	}
	c.addDirFlag(cmd.Flags())
	h.add(cmd.Flags())
	a.add(cmd.Flags())
	return cmd
}

// pollThroughAgent asks the running agent (pid) for a pass now, for
// resume and retry, and prints its outcome as sync does. An agent that
// stops before it answers leaves the work to the next sync or poll, as
// when no agent runs.
func pollThroughAgent(ctx context.Context, stdout io.Writer, layout reconcile.Layout, pid int, from string, h handOverFlags) error {
	a, answered, err := handOver(ctx, layout, pid, reconcile.Request{From: from}, h)
	switch {
	case errors.Is(err, errAgentGone):
		fmt.Fprintf(stdout, "%s: the agent (pid %d) stopped before its pass; the next sync or poll does it\n", layout.Dir, pid)
		return nil
	case err != nil:
		return err
	case !answered:
		handedOver(stdout, layout.Dir, pid)
		return nil
	}
	return outcome(stdout, layout.Dir, a)
}

func newResumeCmd(stdout io.Writer) *cobra.Command {
	var (
		c Config
		h handOverFlags
	)
	cmd := &cobra.Command{
		Use:   "resume --dir DIR",
		Short: "Give control back to the reconciler",
		Long: `resume gives control back to the reconciler (it says so when the
directory was not suspended). When an agent (reconciler run) runs on --dir,
it polls at once, and resume waits for its pass (--wait, --no-wait) and
prints its outcome, with the exit code of a sync.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout, err := openDir(cmd, &c)
			if err != nil {
				return err
			}
			was, serr := layout.Suspension() // one that cannot be read is removed all the same
			if err := layout.Resume(); err != nil {
				return err
			}
			switch {
			case serr != nil:
				fmt.Fprintf(stdout, "%s: resumed (%v)\n", layout.Dir, serr)
			case was == nil:
				fmt.Fprintf(stdout, "%s: was not suspended\n", layout.Dir)
			default:
				fmt.Fprintf(stdout, "%s: resumed (suspended since %s: %s)\n", layout.Dir, was.Time.Format(time.RFC3339), was.Reason)
			}
			if pid, ok := layout.RunningAgent(); ok {
				return pollThroughAgent(cmd.Context(), stdout, layout, pid, "resume", h)
			}
			return nil
		},
	}
	c.addDirFlag(cmd.Flags())
	h.add(cmd.Flags())
	return cmd
}
