package main

import (
	"fmt"
	"io"
	"time"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/spf13/cobra"

	"github.com/reconciler-dev/reconciler/internal/promote"
)

func newFleetCmd(stdout io.Writer) *cobra.Command {
	var (
		p       promConfig
		rollout string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "fleet --prometheus URL [--rollout ID] [--json]",
		Short: "Show every agent that reports to Prometheus: version, rollout state, last poll, last error",
		Long: `fleet asks Prometheus for the series every agent exports and prints one line
per host and app: host id, app (the app label, else the scrape job),
applied version and revision, state in each rollout, last poll and last
error (while the last poll failed). Series are joined by job, instance and
app. With --rollout, only the hosts that report that rollout.

Exit status: 0 when Prometheus answered (even with no host), 2 on an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			client, err := p.client(p.CAFile)
			if err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			now := time.Now()
			hosts, err := promote.Fleet(cmd.Context(), client, rollout, now)
			if err == nil && asJSON {
				err = promote.RenderFleetJSON(stdout, hosts)
			} else if err == nil {
				err = promote.RenderFleet(stdout, hosts, now)
			}
			if err != nil {
				return &exitcode.Error{Code: 2, Err: fmt.Errorf("fleet: %w", err)}
			}
			return nil
		},
	}
	p.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&p.CAFile, "ca-file", "", "extra CA certificates (PEM) for an https Prometheus")
	cmd.Flags().StringVar(&rollout, "rollout", "", "only the hosts that report this rollout id")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
