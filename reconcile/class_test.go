package reconcile_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/agecfg"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// TestClassify: the class comes from the error itself, whichever package
// made it; the engine needs no list of other packages' errors (the command
// kept one, which a new sentinel could miss).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want reconcile.ErrorClass
	}{
		{fmt.Errorf("x: %w", reconcile.ErrInvalidDesired), reconcile.ClassNeedsPerson},
		{fmt.Errorf("x: %w", reconcile.ErrConflict), reconcile.ClassNeedsPerson},
		{fmt.Errorf("%w: bad signature", reconcile.ErrUntrusted), reconcile.ClassNeedsPerson},
		{fmt.Errorf("x: %w", reconcile.ErrBadLocalConf), reconcile.ClassNeedsPerson},
		{fmt.Errorf("x: %w", reconcile.ErrNoDecrypter), reconcile.ClassNeedsPerson},
		{fmt.Errorf("x: %w", reconcile.ErrKnownMismatch), reconcile.ClassNeedsPerson},
		{&reconcile.HookError{Hook: "pre-switch", Err: errors.New("exit status 1")}, reconcile.ClassNeedsPerson},
		{fmt.Errorf("ls: %w", gitsrc.ErrAuth), reconcile.ClassNeedsPerson},
		{fmt.Errorf("head: %w", gitsrc.ErrRefNotFound), reconcile.ClassNeedsPerson},
		{fmt.Errorf("ssh: %w", gitsrc.ErrHostKey), reconcile.ClassNeedsPerson},
		{fmt.Errorf("get: %w", artifacts.ErrDigestMismatch), reconcile.ClassNeedsPerson},
		{fmt.Errorf("pull: %w", artifacts.ErrAccessDenied), reconcile.ClassNeedsPerson},
		{&artifacts.StoreError{Op: "get", Code: 404, Err: errors.New("NoSuchKey")}, reconcile.ClassNeedsPerson},
		{fmt.Errorf("cfg: %w", agecfg.ErrDecrypt), reconcile.ClassNeedsPerson},
		// retried: the surroundings, and what says nothing of its cause
		{fmt.Errorf("ls: %w", gitsrc.ErrUnreachable), reconcile.ClassRetry},
		{&artifacts.StatusError{URL: "u", Code: 404}, reconcile.ClassRetry}, // a URL artifact still being published
		{&artifacts.StatusError{URL: "u", Code: 503}, reconcile.ClassRetry},
		{fmt.Errorf("%w: %w", artifacts.ErrDiskFull, syscall.ENOSPC), reconcile.ClassRetry},
		{errors.New("dial tcp: connection refused"), reconcile.ClassRetry},
	} {
		if got := reconcile.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
