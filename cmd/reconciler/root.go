package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// run is the whole program but the exit: main's only job is to call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	return usageExit(root.ExecuteContext(ctx))
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "reconciler",
		Short: "GitOps for plain binaries on Linux servers",
		Long: `reconciler keeps a server's app directory in step with a deploy repo.

Deploy = commit a version bump to the deploy repo. Roll back = git revert.
Preview = reconciler diff. Every artifact is sha256-verified and lands in
release/ atomically; the app switches with no dropped request.

Every flag can also be set as RECONCILER_<FLAG>, e.g. RECONCILER_REPO.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetVersionTemplate("{{.Version}}\n") // the same line as `reconciler version`
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newRunCmd(stderr),
		newSyncCmd(stdout, stderr),
		newDiffCmd(stdout, stderr),
		newStatusCmd(stdout),
		newSuspendCmd(stdout),
		newResumeCmd(stdout),
		newRetryCmd(stdout),
		newWatchCmd(stderr),
		newPromoteCmd(stdout, stderr),
		newBumpCmd(stdout, stderr),
		newFleetCmd(stdout),
		newDemoCmd(stdout, stderr),
		newVersionCmd(stdout),
		newManCmd(),
	)
	addSettingsFlags(root)
	markUsageErrors(root)
	completeValues(root, map[string][]string{
		"restart":    {"hup", "restart", "none"},
		"log-format": {"text", "json"},
	})
	return root
}

// completeValues gives shell completion of the fixed values of a flag, in
// every command that has it.
func completeValues(root *cobra.Command, values map[string][]string) {
	for _, cmd := range root.Commands() {
		for name, vals := range values {
			if cmd.Flags().Lookup(name) == nil {
				continue
			}
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
		}
	}
}

// addSettingsFlags gives every command that reads settings --env-file, and
// the commands that act on one app's directory --apps-dir DIR --app NAME
// (status has its own --apps-dir, which lists every app without --app).
func addSettingsFlags(root *cobra.Command) {
	for _, cmd := range root.Commands() {
		switch cmd.Name() {
		case "demo", "version":
			continue
		case "diff", "suspend", "resume", "retry":
			cmd.Flags().String("apps-dir", "", "with --app NAME: the directory of the app files (NAME.env, as run --apps-dir reads them)")
			addAppFlag(cmd.Flags())
		case "status":
			addAppFlag(cmd.Flags())
		}
		addEnvFileFlag(cmd.Flags())
	}
}
