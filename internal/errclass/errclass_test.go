package errclass_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// timeoutErr is a net.Error that timed out outside any *net.OpError.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// classedErr carries its class as a method, as a package's error type does.
type classedErr struct{ c errclass.Class }

func (e classedErr) Error() string              { return "classed" }
func (e classedErr) ErrorClass() errclass.Class { return e.c }

var errPerson = errclass.New(errclass.NeedsPerson, "ref not found")

func dial(err error) error {
	return &url.Error{Op: "Get", URL: "https://git.example/x.git", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}}
}

func write(err error) error {
	return &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", err)}
}

// TestOf holds every case on which the old copies (artifacts.IsTransient,
// gitsrc.isConnectionError, the lists of cmd/reconciler and reconcile)
// disagreed, each decided once (see Network's doc), and the cases they
// agreed on.
func TestOf(t *testing.T) {
	nxdomain := &net.DNSError{Err: "no such host", Name: "git.example", IsNotFound: true}
	for _, tc := range []struct {
		name string
		err  error
		want errclass.Class
	}{
		{"nil", nil, errclass.Unknown},
		{"plain error", errors.New("boom"), errclass.Unknown},
		// disagreed: artifacts said permanent, gitsrc said unreachable
		{"dns no such host", &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "dial", Err: nxdomain}}, errclass.Transient},
		{"dns timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, errclass.Transient},
		// disagreed: gitsrc knew neither outside a *net.OpError
		{"EPIPE", fmt.Errorf("send pack: %w", syscall.EPIPE), errclass.Transient},
		{"ETIMEDOUT", fmt.Errorf("read: %w", syscall.ETIMEDOUT), errclass.Transient},
		{"ECONNABORTED", syscall.ECONNABORTED, errclass.Transient},
		{"ENETDOWN", syscall.ENETDOWN, errclass.Transient},
		{"EPIPE in OpError", write(syscall.EPIPE), errclass.Transient},
		// disagreed: a timeout outside *net.OpError was transient only to artifacts
		{"bare net timeout", fmt.Errorf("fetch: %w", timeoutErr{}), errclass.Transient},
		{"deadline", fmt.Errorf("fetch: %w", context.DeadlineExceeded), errclass.Transient},
		// disagreed: gitsrc called any *url.Error or *net.OpError unreachable
		{"tls certificate refused", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, errclass.Unknown},
		{"malformed address", &net.OpError{Op: "dial", Err: &net.AddrError{Err: "missing port in address", Addr: "h"}}, errclass.Unknown},
		{"unsupported scheme", &url.Error{Op: "Get", URL: "gopher://x", Err: errors.New(`unsupported protocol scheme "gopher"`)}, errclass.Unknown},
		// agreed
		{"refused", dial(syscall.ECONNREFUSED), errclass.Transient},
		{"reset", write(syscall.ECONNRESET), errclass.Transient},
		{"no route", dial(syscall.EHOSTUNREACH), errclass.Transient},
		{"network unreachable", dial(syscall.ENETUNREACH), errclass.Transient},
		{"cut stream", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), errclass.Transient},
		{"closed before answering", fmt.Errorf("Get: %w", io.EOF), errclass.Transient},
		{"disk full", fmt.Errorf("write: %w", syscall.ENOSPC), errclass.Unknown},
		// the class an error carries
		{"sentinel", fmt.Errorf("head: %w", errPerson), errclass.NeedsPerson},
		{"classed transient", fmt.Errorf("x: %w", classedErr{errclass.Transient}), errclass.Transient},
		{"classed unknown", classedErr{errclass.Unknown}, errclass.Unknown},
		// precedence
		{"needs person beats reset", fmt.Errorf("%w: %w", syscall.ECONNRESET, errPerson), errclass.NeedsPerson},
		{"needs person beats classed transient", errors.Join(classedErr{errclass.Transient}, errPerson), errclass.NeedsPerson},
		{"caller gave up beats reset", fmt.Errorf("%w: %w", context.Canceled, syscall.ECONNRESET), errclass.Unknown},
		{"needs person beats caller gave up", fmt.Errorf("%w: %w", context.Canceled, errPerson), errclass.NeedsPerson},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errclass.Of(tc.err); got != tc.want {
				t.Errorf("Of(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[int]errclass.Class{
		200: errclass.Unknown, 401: errclass.Unknown, 403: errclass.Unknown, 404: errclass.Unknown,
		408: errclass.Transient, 429: errclass.Transient, 500: errclass.Transient, 502: errclass.Transient, 503: errclass.Transient,
	} {
		if got := errclass.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestSentinelIdentity(t *testing.T) {
	other := errclass.New(errclass.NeedsPerson, "ref not found")
	if errors.Is(fmt.Errorf("x: %w", errPerson), other) {
		t.Error("two sentinels with the same text compare equal, want identity")
	}
	if got := errPerson.Error(); got != "ref not found" {
		t.Errorf("Error() = %q, want %q", got, "ref not found")
	}
}
