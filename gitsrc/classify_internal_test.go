package gitsrc

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestClassifyNetwork: the transports' errors on which gitsrc and artifacts
// once disagreed are sorted by the one rule of errclass.Network.
func TestClassifyNetwork(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"EPIPE", fmt.Errorf("send-pack: %w", syscall.EPIPE), ErrUnreachable},
		{"ETIMEDOUT", fmt.Errorf("read: %w", syscall.ETIMEDOUT), ErrUnreachable},
		{"ENETDOWN", syscall.ENETDOWN, ErrUnreachable},
		{"bare timeout", timeoutErr{}, ErrUnreachable},
		{"reset inside go-git's UnexpectedError", plumbing.NewUnexpectedError(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), ErrUnreachable},
		{"no such host", &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}}, ErrUnreachable},
		{"HTTP 503", plumbing.NewUnexpectedError(httpErr(503)), ErrUnreachable},
		{"HTTP 408", httpErr(408), ErrUnreachable},
		{"HTTP 418", httpErr(418), nil},
		{"certificate refused", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, nil},
		{"malformed address", &net.OpError{Op: "dial", Err: &net.AddrError{Err: "missing port in address", Addr: "h"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestSentinelsCarryClass: the sentinels a person must act on say so, and
// an unreachable repo is the surroundings' fault.
func TestSentinelsCarryClass(t *testing.T) {
	for _, err := range []error{ErrRefNotFound, ErrFileNotFound, ErrPathEscapes, ErrAuth, ErrRepoNotFound, ErrFileTooLarge, ErrHostKey} {
		if got := errclass.Of(fmt.Errorf("x: %w", err)); got != errclass.NeedsPerson {
			t.Errorf("class of %v = %v, want %v", err, got, errclass.NeedsPerson)
		}
	}
	if got := errclass.Of(fmt.Errorf("x: %w", ErrUnreachable)); got != errclass.Transient {
		t.Errorf("class of %v = %v, want %v", ErrUnreachable, got, errclass.Transient)
	}
	if got := errclass.Of(fmt.Errorf("%w: %w", ErrUnreachable, context.Canceled)); got != errclass.Unknown {
		t.Errorf("class of an unreachable repo the caller left = %v, want %v", got, errclass.Unknown)
	}
}

func httpErr(code int) error {
	u, _ := url.Parse("https://git.example/x.git")
	return &githttp.Err{Response: &http.Response{StatusCode: code, Request: &http.Request{URL: u}}}
}
