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
