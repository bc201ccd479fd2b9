// Command demo runs the whole story of reconciler on this machine, from a
// clone of the source: it builds the example app and the reconciler
// binary with Go, serves the artifacts and the deploy repo on loopback,
// and runs real agents as child processes. It is not part of the
// installed command (it needs the Go toolchain and this source tree);
// `reconciler demo`, run from a clone, hands over to it.
//
//	go run ./cmd/demo [--fleet] [-v] [--workdir DIR]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run runs the demo command with args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newDemoCmd(stdout, stderr)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(ctx)
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

// exitCode prints err and maps it to the exit code: 0 on success, the
// code of an exitError, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "demo:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "demo:", err)
	return 1
}
