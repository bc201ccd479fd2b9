// Command reconciler keeps a Linux server's app directory in step with a
// deploy repo: deploy = git commit, rollback = git revert.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/exitcode"
)

func main() {
	// A package's binary started with --agent-path runs the agent's newest
	// confirmed version instead (same PID); it returns to run itself.
	agentdir.ExecChosen(os.Args, os.Environ(), os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitcode.Print("reconciler", err, os.Stderr))
}
