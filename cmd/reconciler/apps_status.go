package main

import (
	"fmt"
	"io"

	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/spf13/cobra"
)

// appsStatusCmd is `status --apps-dir`.
func appsStatusCmd(cmd *cobra.Command, c *Config, x *appsFlags, asJSON bool, stdout io.Writer) error {
	if err := bindEnv(cmd); err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	if c.Dir != "" {
		return &exitcode.Error{Code: 2, Err: &usageError{msg: "--dir and --apps-dir: give one"}}
	}
	st, err := agenthost.DirStatus(x.AppsDir)
	if err != nil {
		return &exitcode.Error{Code: 2, Err: fmt.Errorf("--apps-dir %s: %w", x.AppsDir, err)}
	}
	if asJSON {
		err = agenthost.WriteJSON(stdout, st)
	} else {
		err = st.Render(stdout)
	}
	if err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	if code := st.ExitCode(); code != 0 {
		return &exitcode.Error{Code: code} // said above; for scripts and monitoring
	}
	return nil
}
