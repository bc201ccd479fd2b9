// Command exampleapp is the app the project ships as an example of what the
// reconciler deploys: started as `./app.bin -c app.cfg` in the app dir, it
// serves its version and a message, and on SIGHUP re-execs ./app.bin and
// hands its socket over (package restart/graceful), so a switch of release
// fails no request.
//
// Usage: app.bin -c app.cfg [-listen ADDR] [-pidfile app.pid] [-version].
// -listen overrides the config's "listen", so several hosts of a demo or a
// test share one config on one machine (a re-exec keeps the flags). The version is
// baked in at build time (-ldflags "-X main.version=2.0"). It serves GET /
// (version and message), GET /healthz and GET /slow?d=1s (an answer that
// takes d, to watch an in-flight request cross a switch); logs go to stderr.
//
// Its config (JSON) can make a release bad on purpose, for tests and demos:
//
//	{"listen": "127.0.0.1:8080", "message": "hello", "healthy": true, "fail_start": false}
//
// "healthy": false makes /healthz answer 500; "fail_start": true makes the
// process exit 1 before it serves (a release that does not come up);
// "crash_after": "2s" makes it stop serving and exit 1 that long after its
// start (a release that comes up and then dies).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/reconciler-dev/reconciler/restart/graceful"
)

// version is set at build time: -ldflags "-X main.version=2.0".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "exampleapp:", err)
		os.Exit(1)
	}
}

// errFailStart is what a release configured not to come up returns.
var errFailStart = errors.New(`config says "fail_start": true`)

// errCrash is how a release configured to die after a while ends.
var errCrash = errors.New(`crashing as the config says: "crash_after"`)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("exampleapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "app.cfg", "config `file` (JSON)")
	pidFile := fs.String("pidfile", "", "write the serving process's pid to this `file`")
	listen := fs.String("listen", "", "listen on this `address`, whatever the config's \"listen\" says")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, version)
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("pid", os.Getpid(), "version", version)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log.Info("starting", "cfg", *cfgPath, "listen", cfg.Listen)
	if cfg.FailStart {
		return errFailStart
	}
	if cfg.crashAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.crashAfter, errCrash)
		defer cancel()
	}
	err = graceful.Run(ctx, graceful.Options{
		Addr:    cfg.Listen,
		Handler: newHandler(version, cfg),
		PIDFile: *pidFile,
		Log:     log,
	})
	if errors.Is(context.Cause(ctx), errCrash) {
		return fmt.Errorf("%w (%s)", errCrash, cfg.CrashAfter)
	}
	if err != nil {
		return err
	}
	log.Info("exiting")
	return nil
}
