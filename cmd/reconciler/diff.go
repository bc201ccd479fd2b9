package main

import (
	"io"
	"log/slog"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/cobra"
)

func newDiffCmd(stdout, stderr io.Writer) *cobra.Command {
	var c Config
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "diff --repo URL --dir DIR [flags]",
		Short: "Show what sync would do, changing nothing",
		Long: `diff is the dry run of sync: versions and revisions from and to, each
artifact to fetch (URL, digest, target file), a unified diff of a text config
that changes, the link switch and the process action. It writes nothing in
--dir (the deploy repo is fetched into memory). Of an age-encrypted config it
prints the sha256 of the old and new plaintext, and the text diff only with
--show-secrets.

Exit status, as diff(1) and git diff --exit-code: 0 in sync, 1 differences,
2 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := setup(cmd, &c, true); err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			log, err := newLogger(c.LogFormat, stderr, slog.LevelWarn)
			if err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			return runDiff(cmd, &c, showSecrets, log, stdout)
		},
	}
	c.addSourceFlags(cmd.Flags())
	c.addDirFlag(cmd.Flags())
	c.addApplyFlags(cmd.Flags())
	c.addLogFlag(cmd.Flags())
	c.addWindowFlags(cmd.Flags())
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print the text diff of an age-encrypted config (its plaintext) too")
	// diff switches nothing: of the switch flags only --restart and --exec
	// (the process action it prints) matter; the others are accepted, so
	// one environment file serves every command, and left out of --help.
	hideFlags(cmd, "health-url", "health-cmd", "health-tcp", "health-timeout", "health-bake", "crash-loop", "drain-timeout", "keep",
		"notify-url", "notify-secret-file", "pre-switch", "post-switch", "on-rollback", "hook-timeout")
	return cmd
}

func runDiff(cmd *cobra.Command, c *Config, showSecrets bool, log *slog.Logger, stdout io.Writer) error {
	layout, err := reconcile.NewLayout(c.Dir)
	if err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	eng, err := newEngine(c, layout, "", log)
	if err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	plan, err := eng.Diff(cmd.Context())
	if err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	plan.ShowSecrets = showSecrets
	if err := plan.Render(stdout); err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	if plan.Changes() {
		return &exitcode.Error{Code: 1}
	}
	return nil
}
