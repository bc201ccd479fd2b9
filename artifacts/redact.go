package artifacts

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/reconciler-dev/reconciler/internal/redact"
)

// target is a URL to fetch, its origin (the form of it that errors may
// show), and the secrets it carries, which no error may show (the rule of
// package internal/redact, shared with the deploy repo's URLs).
type target struct {
	url     *url.URL
	origin  string // as people see it, redacted (reconcile's fileStep.Origin names it too)
	secrets []string
}

// parseTarget parses and checks rawURL. On failure the target still has a
// redacted form for the error message.
func parseTarget(rawURL string, stores map[string]Store) (target, error) {
	t := target{origin: redact.URL(rawURL), secrets: redact.Secrets(rawURL)}
	u, err := url.Parse(rawURL)
	if err != nil {
		// *url.Error repeats the raw URL, credentials included: keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return t, fmt.Errorf("invalid URL: %w", err)
	}
	t.url = u
	switch u.Scheme {
	case "http", "https", "file":
		return t, nil
	}
	if stores[u.Scheme] != nil {
		if u.User == nil {
			// A store's locator holds no secret (its credentials come
			// from elsewhere): show it whole, its ?file= too.
			t.origin = rawURL
		}
		return t, nil
	}
	return t, fmt.Errorf("%w %q (want http, https or file)", ErrUnsupportedScheme, u.Scheme)
}

// scrub is the safety net under the redaction above: errors from a Doer we
// do not control may quote the URL.
func (t target) scrub(err error) error {
	msg := err.Error()
	clean := redact.Text(msg, t.secrets)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

// scrubbedError shows a cleaned message but keeps the chain for errors.Is/As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
