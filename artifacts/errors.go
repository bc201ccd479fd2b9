package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// Sentinels wrapped by this package's errors; test them with errors.Is.
var (
	ErrDigestMismatch    = errors.New("sha256 mismatch")
	ErrImmutable         = errors.New("released version is immutable")
	ErrTruncated         = errors.New("truncated download")
	ErrTooLarge          = errors.New("artifact exceeds size limit")
	ErrUnsupportedScheme = errors.New("unsupported URL scheme")
	ErrDiskFull          = errors.New("disk full")
	// ErrInsecureRedirect: an https URL redirected to a non-https one.
	ErrInsecureRedirect = errors.New("redirect from https to http refused")
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

// Transient reports whether the same request may succeed later: server
// errors (5xx), 429 Too Many Requests and 408 Request Timeout.
func (e *StatusError) Transient() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// permanent are the errors no retry can fix: bad input, a wrong digest, a
// full disk, or the caller giving up. They win over anything transient
// found in the same chain.
var permanent = []error{
	ErrDigestMismatch, ErrImmutable, ErrTooLarge, ErrUnsupportedScheme,
	ErrDiskFull, ErrInsecureRedirect, ErrAccessDenied, ErrNotFound, ErrNotPinned,
	context.Canceled,
}

// transientErrnos are network faults of the surroundings.
var transientErrnos = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
	syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH,
	syscall.ENETUNREACH, syscall.ENETDOWN,
}

// IsTransient reports whether err is worth retrying later as is (refused or
// reset connections, timeouts, stalls, 5xx, 429, truncated bodies), as
// opposed to errors that need a human (404, digest mismatch, immutable
// release, too large, bad scheme, disk full). Fetch retries transient errors
// itself; the caller uses this to pick its own backoff or alert.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	for _, p := range permanent {
		if errors.Is(err, p) {
			return false
		}
	}
	// io.EOF here means the server closed the connection before answering.
	if errors.Is(err, ErrTruncated) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Transient()
	}
	var ste *StoreError
	if errors.As(err, &ste) {
		return ste.Transient()
	}
	for _, e := range transientErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// diskErr marks a full disk or exhausted quota with ErrDiskFull, so the
// caller does not mistake it for a bad artifact.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}
