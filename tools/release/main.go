package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

// run parses the flags and makes the release; getenv gives
// SOURCE_DATE_EPOCH (and nothing else is read from the environment here).
func run(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.Version, "version", "", "the version to build, e.g. 1.2.3 (required; a leading v is dropped)")
	fs.StringVar(&o.Src, "src", "../..", "the root of the reconciler clone")
	fs.StringVar(&o.Out, "out", "../../dist", "where the release files go (created; files of the same names are replaced)")
	fs.StringVar(&o.Release, "release", "1", "the package revision (deb: VERSION-REL, rpm: VERSION-REL)")
	archs := fs.String("arch", "amd64,arm64", "the GOARCHs to build, separated by commas")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Version == "" {
		return errors.New("-version is required")
	}
	o.Archs = strings.Split(*archs, ",")
	r, err := newRelease(ctx, o, getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	defer r.cleanup()
	files, err := r.make(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return nil
}
