package main

import (
	"io"

	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/exitcode"

	"github.com/spf13/cobra"
)

func newStatusCmd(stdout io.Writer) *cobra.Command {
	var (
		c      Config
		asJSON bool
		x      appsFlags
	)
	cmd := &cobra.Command{
		Use:   "status --dir DIR [--json] | status --apps-dir DIR [--app NAME] [--json]",
		Short: "Show the applied version, links, last poll and errors",
		Long: `status shows the applied version and revision, the links, the app's
process and its exits of the last 10 minutes, the last poll and error, the
failure that still matters (the revision the branch points at failed)
apart from earlier ones, a suspension, and a revision that waits for a
deploy window.

Exit status: 0 when the app runs the applied release and the last poll did
not fail; 1 when the app is down, runs another release, the last poll
failed, the revision the branch points at failed (a rollout's failed state
included), or the app exited more than once in the last 10 minutes; 2 when
the status cannot be read (e.g. --dir is not an app directory). A revision
waiting for a deploy window is no fault: 0, and status says it is
deferred.

With --apps-dir DIR instead of --dir: one line per app of DIR (the app
directory is each NAME.env's RECONCILER_DIR), and the exit status is the
worst of them; a file that cannot be read is a status that cannot be, and
so is a file naming the directory of another app, which the agent refuses
("app NAME runs there already"). With --app NAME too: the status of that
one app (its directory is NAME.env's RECONCILER_DIR), as with --dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if appsMode(cmd) && flagValue(cmd, "app") == "" {
				return appsStatusCmd(cmd, &c, &x, asJSON, stdout)
			}
			layout, err := openDir(cmd, &c)
			if err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			st, err := agenthost.ReadStatus(layout)
			if err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			if asJSON {
				err = agenthost.WriteJSON(stdout, st)
			} else {
				err = st.Render(stdout)
			}
			if err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			if !st.Healthy() {
				return &exitcode.Error{Code: 1} // said above; for scripts and monitoring
			}
			return nil
		},
	}
	c.addDirFlag(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the same as GET /status)")
	x.addStatusFlags(cmd.Flags())
	return cmd
}
