// Command reconciler keeps a Linux server's app directory in step with a
// deploy repo: deploy = git commit, rollback = git revert.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/agentdir"
)

func main() {
	// A package's binary started with --agent-path runs the agent's newest
	// confirmed version instead (same PID); it returns to run itself.
	agentdir.ExecChosen(os.Args, os.Environ(), os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError carries a process exit code through the error chain.
type exitError struct {
	code int
	err  error // nil: nothing more to print
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode prints err (once) and maps it to the process exit code: 0 on
// success, the code of an exitError, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "reconciler:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "reconciler:", err)
	return 1
}
