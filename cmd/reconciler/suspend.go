package main

import (
	"fmt"
	"github.com/spf13/cobra"
	"io"
	"time"
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
	var c Config
	cmd := &cobra.Command{
		Use:   "retry --dir DIR",
		Short: "Try the failed revision the branch points at again",
		Long: `retry forgets that the revision the branch pointed at in the last poll
failed, so the next sync or poll applies it again. Use it when the failure
came from the agent's own flags or the machine (the app did not handle
SIGHUP, a port was taken), not from the release: a broken release fails
again. It also forgets a download refused for its sha256 at that revision
(downloaded once per revision otherwise), for when the artifact store
served the wrong file and now serves the right one. The agent takes the
request at its next poll.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			fmt.Fprintf(stdout, "%s: revision %s (%s) will be tried again at the next sync or poll\n", layout.Dir, shortRev(rev), what)
			return nil
		},
	}
	c.addDirFlag(cmd.Flags())
	return cmd
}

func newResumeCmd(stdout io.Writer) *cobra.Command {
	var c Config
	cmd := &cobra.Command{
		Use:   "resume --dir DIR",
		Short: "Give control back to the reconciler",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout, err := openDir(cmd, &c)
			if err != nil {
				return err
			}
			if err := layout.Resume(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: resumed\n", layout.Dir)
			return nil
		},
	}
	c.addDirFlag(cmd.Flags())
	return cmd
}
