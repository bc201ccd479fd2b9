package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// Sentinels for the failures a caller branches on; test them with errors.Is.
// ErrUnreachable, ErrAuth and ErrRepoNotFound come from a remote call;
// ErrRefNotFound from Head or Fetch; ErrFileNotFound and ErrPathEscapes from
// ReadFile and CheckPath.
// Each carries its class (errclass.Of): ErrUnreachable is the
// surroundings' fault, the others need a person.
var (
	ErrRefNotFound  = errclass.New(errclass.NeedsPerson, "ref not found")
	ErrFileNotFound = errclass.New(errclass.NeedsPerson, "file not found in deploy repo")
	ErrPathEscapes  = errclass.New(errclass.NeedsPerson, "path leaves the deploy repo")
	ErrUnreachable  = errclass.New(errclass.Transient, "deploy repo unreachable")
	ErrAuth         = errclass.New(errclass.NeedsPerson, "authentication failed")
	ErrRepoNotFound = errclass.New(errclass.NeedsPerson, "repository not found")
	// ErrFileTooLarge: ReadFile refused a file above Options.MaxFileSize.
	ErrFileTooLarge = errclass.New(errclass.NeedsPerson, "file too large")
)

// remoteError is the error of a remote call: what was done, how it failed in
// the package's terms, and the transport's own words with credentials cut out.
type remoteError struct {
	op     string // e.g. "list refs of https://host/x.git"
	kind   error  // a sentinel or the caller's context error; may be nil
	detail string // redacted text of the underlying error; may be empty
	cause  error  // the underlying error, kept only if its text is clean
}

func (e *remoteError) Error() string {
	msg := e.op
	if e.kind != nil {
		msg += ": " + e.kind.Error()
	}
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

func (e *remoteError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// remoteErr sorts the error err of a remote call made under callCtx (derived
// from ctx with the Source's timeout) into the package's sentinels.
// A deadline is checked first, because go-git reports an HTTP timeout as a
// *plumbing.UnexpectedError that errors.Is cannot see through.
func (s *Source) remoteErr(ctx, callCtx context.Context, op string, err error) error {
	e := &remoteError{op: op}
	switch {
	case ctx.Err() != nil: // the caller gave up: not the remote's fault
		e.kind = ctx.Err()
	case callCtx.Err() != nil:
		return fmt.Errorf("%s: %w: no answer within %s: %w", op, ErrUnreachable, s.timeout, context.DeadlineExceeded)
	default:
		e.kind = classify(err)
	}
	detail := err.Error()
	if d, ok := s.httpDetail(err); ok {
		detail = d
	}
	e.detail = strings.Join(strings.Fields(s.redactText(detail)), " ")
	if e.kind != nil { // not "repository not found: repository not found"
		e.detail = strings.TrimLeft(strings.TrimPrefix(e.detail, e.kind.Error()), ": ")
	}
	if !s.containsSecret(err.Error()) {
		e.cause = err
	}
	return e
}

// classify maps an error of go-git's transports to a sentinel, or nil when
// it is none of them.
func classify(err error) error {
	switch {
	case errors.Is(err, ErrHostKey):
		return ErrHostKey
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ErrRepoNotFound
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod),
		strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return ErrAuth
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return ErrRefNotFound
	case isConnectionError(err):
		return ErrUnreachable
	}
	return nil
}

// isConnectionError reports a failure to reach or to keep talking to the
// server, by errclass's one rule (errclass.Network), or an HTTP status
// errclass calls transient (5xx, 429, 408). go-git hides some of these in
// Unexpected/PermanentError, which do not unwrap.
func isConnectionError(err error) bool {
	err = unwrapGoGit(err)
	var httpErr *githttp.Err
	if errors.As(err, &httpErr) {
		return errclass.HTTPStatus(httpErr.StatusCode()) == errclass.Transient
	}
	return errclass.Of(err) == errclass.Transient
}

// unwrapGoGit returns the error inside go-git's UnexpectedError and
// PermanentError, which do not unwrap.
func unwrapGoGit(err error) error {
	for {
		var (
			unexpected *plumbing.UnexpectedError
			permanent  *plumbing.PermanentError
		)
		switch {
		case errors.As(err, &unexpected):
			err = unexpected.Err
		case errors.As(err, &permanent):
			err = permanent.Err
		default:
			return err
		}
	}
}

// httpDetail describes a failed HTTP request as "HTTP 404 Not Found",
// followed by the server's words only if they are a line of plain text:
// go-git pastes the whole response body into its error, and most servers
// answer with an HTML page.
func (s *Source) httpDetail(err error) (string, bool) {
	code, body, ok := s.httpStatus(err)
	if !ok {
		return "", false
	}
	d := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	if r := plainReason(body); r != "" {
		d += ": " + r
	}
	return d, true
}

// httpStatus finds the status and body of a failed HTTP request in err.
// go-git reports 401, 403 and 404 as its transport's sentinels followed by
// ": " and the body (over HTTP, only these statuses produce them), and any
// other status as a *githttp.Err.
func (s *Source) httpStatus(err error) (code int, body string, ok bool) {
	var httpErr *githttp.Err
	if errors.As(unwrapGoGit(err), &httpErr) {
		return httpErr.StatusCode(), httpErr.Reason, true
	}
	if !strings.HasPrefix(s.url, "http://") && !strings.HasPrefix(s.url, "https://") {
		return 0, "", false
	}
	sentinels := []struct {
		code int
		err  error
	}{
		{http.StatusUnauthorized, transport.ErrAuthenticationRequired},
		{http.StatusForbidden, transport.ErrAuthorizationFailed},
		{http.StatusNotFound, transport.ErrRepositoryNotFound},
	}
	for _, hs := range sentinels {
		if errors.Is(err, hs.err) {
			_, body, _ = strings.Cut(err.Error(), hs.err.Error()+": ")
			return hs.code, body, true
		}
	}
	return 0, "", false
}

// maxReason bounds the server's words kept in an error.
const maxReason = 200

// plainReason returns the first line of a response body that is plain
// text, cut to maxReason bytes, or "" for markup (HTML, XML).
func plainReason(body string) string {
	body = strings.TrimSpace(body)
	if strings.HasPrefix(body, "<") {
		return ""
	}
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSpace(line)
	if len(line) > maxReason {
		line = strings.ToValidUTF8(line[:maxReason], "") + "..."
	}
	return line
}
