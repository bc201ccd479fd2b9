package reconcile

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/agecfg"
)

// TestClassify: the class comes from the error itself, whichever package
// made it; the engine needs no list of other packages' errors (the command
// kept one, which a new sentinel could miss).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want ErrorClass
	}{
		{fmt.Errorf("x: %w", ErrInvalidDesired), ClassNeedsPerson},
		{fmt.Errorf("x: %w", errConflict), ClassNeedsPerson},
		{fmt.Errorf("%w: bad signature", errUntrusted), ClassNeedsPerson},
		{fmt.Errorf("x: %w", errBadLocalConf), ClassNeedsPerson},
		{fmt.Errorf("x: %w", errNoDecrypter), ClassNeedsPerson},
		{fmt.Errorf("x: %w", errKnownMismatch), ClassNeedsPerson},
		{&hookError{Hook: "pre-switch", Err: errors.New("exit status 1")}, ClassNeedsPerson},
		{fmt.Errorf("ls: %w", gitsrc.ErrAuth), ClassNeedsPerson},
		{fmt.Errorf("head: %w", gitsrc.ErrRefNotFound), ClassNeedsPerson},
		{fmt.Errorf("ssh: %w", gitsrc.ErrHostKey), ClassNeedsPerson},
		{fmt.Errorf("get: %w", artifacts.ErrDigestMismatch), ClassNeedsPerson},
		{fmt.Errorf("pull: %w", artifacts.ErrAccessDenied), ClassNeedsPerson},
		{&artifacts.StoreError{Op: "get", Code: 404, Err: errors.New("NoSuchKey")}, ClassNeedsPerson},
		{fmt.Errorf("cfg: %w", agecfg.ErrDecrypt), ClassNeedsPerson},
		// retried: the surroundings, and what says nothing of its cause
		{fmt.Errorf("ls: %w", gitsrc.ErrUnreachable), ClassRetry},
		{&artifacts.StatusError{URL: "u", Code: 404}, ClassRetry}, // a URL artifact still being published
		{&artifacts.StatusError{URL: "u", Code: 503}, ClassRetry},
		{fmt.Errorf("%w: %w", artifacts.ErrDiskFull, syscall.ENOSPC), ClassRetry},
		{errors.New("dial tcp: connection refused"), ClassRetry},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
