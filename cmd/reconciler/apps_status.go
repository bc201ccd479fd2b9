package main

import (
	"fmt"
	"io"

	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/spf13/cobra"
)

// appsStatusCmd is `status --apps-dir`.
func appsStatusCmd(cmd *cobra.Command, c *Config, x *appsFlags, asJSON bool, stdout io.Writer) error {
	if err := bindEnv(cmd); err != nil {
		return &exitError{code: 2, err: err}
	}
	if c.Dir != "" {
		return &exitError{code: 2, err: &usageError{msg: "--dir and --apps-dir: give one"}}
	}
	st, err := agenthost.DirStatus(x.AppsDir)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--apps-dir %s: %w", x.AppsDir, err)}
	}
	if asJSON {
		err = agenthost.WriteJSON(stdout, st)
	} else {
		err = st.Render(stdout)
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if code := st.ExitCode(); code != 0 {
		return &exitError{code: code} // said above; for scripts and monitoring
	}
	return nil
}
