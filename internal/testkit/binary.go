package testkit

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// The test servers that run an installed program (nginx, Prometheus) find
// it, require it, start it on a fresh port and wait for it the ways below.

// FindBinary is the path of program name in $PATH, else the first of
// paths that exists (a distribution's place outside a user's $PATH, like
// /usr/sbin); "" when none.
func FindBinary(name string, paths ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Skipper is the part of testing.TB that RequireBinary uses.
type Skipper interface {
	Helper()
	Fatal(args ...any)
	Skip(args ...any)
}

// RequireBinary fails the test when bin is "" (not installed) and the CI
// environment variable is set (CI must run it), and skips it when neither
// is. install says how to install it, e.g. "apt-get install nginx".
func RequireBinary(t Skipper, bin, name, install string) {
	t.Helper()
	if bin != "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but no " + name + " binary is installed (" + install + "; .ci/run does it)")
	}
	t.Skip("no " + name + " binary installed (" + install + ")")
}

// StartTries is how often a server is started on a fresh port: a port
// free a moment ago (FreeAddr) may be taken by the time it binds.
const StartTries = 3

// Retry calls start up to StartTries times, until it succeeds.
func Retry[T any](start func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range StartTries {
		if v, err = start(); err == nil {
			return v, nil
		}
	}
	return v, err
}

// ErrExited: the server's process ended before it was ready.
var ErrExited = errors.New("exited before it was ready")

// WaitReady GETs url every tick until ready accepts an answer, the process
// ends (exited is closed: ErrExited) or ctx ends.
func WaitReady(ctx context.Context, url string, tick time.Duration, exited <-chan struct{}, ready func(*http.Response) bool) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			ok := ready(res)
			res.Body.Close()
			if ok {
				return nil
			}
		}
		select {
		case <-exited:
			return ErrExited
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
