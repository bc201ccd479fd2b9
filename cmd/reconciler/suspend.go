package main

import (
	"fmt"
	"io"
	"time"

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
	var c Config
	cmd := &cobra.Command{
		Use:   "retry --dir DIR",
		Short: "Try the failed revision the branch points at again",
		Long: `retry forgets that the revision the branch pointed at in the last poll
failed, so the next sync or poll applies it again. Use it when the failure
came from the agent's own flags or the machine (the app did not handle
SIGHUP, a port was taken), not from the release: a broken release fails
again. The agent takes the request at its next poll.`,
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
			f, ok := st.HeadFailure()
			if !ok {
				return &exitError{code: 1, err: fmt.Errorf("%s: the revision the branch points at (as of the last poll) has not failed: nothing to retry", layout.Dir)}
			}
			if err := layout.RequestRetry(f.Revision); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: revision %s (version %s) will be tried again at the next sync or poll\n", layout.Dir, shortRev(f.Revision), f.Version)
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
