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
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitcode.Print("demo", err, os.Stderr))
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
