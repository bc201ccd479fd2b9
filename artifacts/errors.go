package artifacts

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// Sentinels wrapped by this package's errors; test them with errors.Is.
// Each carries its class (errclass.Of): a truncated download is the
// surroundings' fault; a full disk says nothing of a person (the pass is
// retried on the engine's backoff, the download is not repeated at once);
// the others need a person.
var (
	ErrDigestMismatch    = errclass.New(errclass.NeedsPerson, "sha256 mismatch")
	ErrImmutable         = errclass.New(errclass.NeedsPerson, "released version is immutable")
	ErrTruncated         = errclass.New(errclass.Transient, "truncated download")
	ErrTooLarge          = errclass.New(errclass.NeedsPerson, "artifact exceeds size limit")
	ErrUnsupportedScheme = errclass.New(errclass.NeedsPerson, "unsupported URL scheme")
	ErrDiskFull          = errors.New("disk full")
	// ErrInsecureRedirect: an https URL redirected to a non-https one.
	ErrInsecureRedirect = errclass.New(errclass.NeedsPerson, "redirect from https to http refused")
)

// StatusError is a non-2xx HTTP answer. URL is already redacted.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	text := http.StatusText(e.Code)
	if text == "" {
		return fmt.Sprintf("GET %s: status %d", e.URL, e.Code)
	}
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Code, text)
}

// ErrorClass is errclass.HTTPStatus's: server errors (5xx), 429 Too Many
// Requests and 408 Request Timeout are transient; any other status,
// 404 included (a URL artifact may still be being published), is retried
// by the engine on its backoff, not at once.
func (e *StatusError) ErrorClass() errclass.Class { return errclass.HTTPStatus(e.Code) }

// Transient reports whether the same request may succeed later.
func (e *StatusError) Transient() bool { return e.ErrorClass() == errclass.Transient }

// IsTransient reports whether err is worth retrying at once (refused or
// reset connections, timeouts, stalls, 5xx, 429, truncated bodies), as
// opposed to errors that need a human (digest mismatch, immutable release,
// too large, bad scheme, a store's 401/403/404) or say nothing of the
// surroundings (a URL's 404, a full disk). It is errclass.Of(err) ==
// errclass.Transient: the one rule the agent uses. Fetch retries transient
// errors itself; the caller uses this to pick its own backoff or alert.
func IsTransient(err error) bool { return errclass.Of(err) == errclass.Transient }

// diskErr marks a full disk or exhausted quota with ErrDiskFull, so the
// caller does not mistake it for a bad artifact.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}
