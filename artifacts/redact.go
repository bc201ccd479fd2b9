package artifacts

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

const hidden = "xxxxx"

// target is a URL to fetch, the form of it that errors may show, and the
// secrets it carries, which no error may show.
type target struct {
	url     *url.URL
	shown   string
	secrets secrets
}

// secrets are userinfo parts and query values, raw and decoded.
type secrets struct{ user, query []string }

func (s *secrets) add(o secrets) {
	s.user = append(s.user, o.user...)
	s.query = append(s.query, o.query...)
}

// parseTarget parses and checks rawURL. On failure the target still has a
// redacted form for the error message.
func parseTarget(rawURL string) (target, error) {
	shown, sec := redactRaw(rawURL)
	t := target{shown: shown, secrets: sec}
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
	t.shown, sec = redactURL(u)
	t.secrets.add(sec)
	switch u.Scheme {
	case "http", "https", "file":
		return t, nil
	}
	return t, fmt.Errorf("%w %q (want http, https or file)", ErrUnsupportedScheme, u.Scheme)
}

// redactURL hides the whole userinfo (a token is often the user name) and
// every query value (presigned URLs carry signatures there).
func redactURL(u *url.URL) (string, secrets) {
	c := *u
	var sec secrets
	if c.User != nil {
		sec.user = append(sec.user, c.User.Username())
		if p, ok := c.User.Password(); ok {
			sec.user = append(sec.user, p)
		}
		c.User = url.User(hidden)
	}
	if c.RawQuery != "" {
		q, _ := url.ParseQuery(c.RawQuery) // malformed pairs are dropped: not shown
		for _, vs := range q {
			for i, v := range vs {
				sec.query = append(sec.query, v)
				vs[i] = hidden
			}
		}
		c.RawQuery = q.Encode()
	}
	c.ForceQuery = false
	c.Fragment, c.RawFragment = "", ""
	return c.String(), sec
}

// redactRaw is redactURL for text that may not parse: it cuts userinfo and
// query values by hand and returns them raw (still escaped) as secrets.
func redactRaw(raw string) (string, secrets) {
	var sec secrets
	scheme, rest, ok := strings.Cut(raw, "://")
	if ok {
		scheme += "://"
	} else {
		scheme, rest = "", raw
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	authEnd := strings.IndexByte(rest, '/')
	if authEnd < 0 {
		authEnd = len(rest)
	}
	if at := strings.LastIndexByte(rest[:authEnd], '@'); at >= 0 {
		user, pass, _ := strings.Cut(rest[:at], ":")
		sec.user = append(sec.user, rest[:at], user, pass)
		rest = hidden + rest[at:]
	}
	if hasQuery {
		query, _, _ = strings.Cut(query, "#")
		for _, kv := range strings.Split(query, "&") {
			if _, v, ok := strings.Cut(kv, "="); ok {
				sec.query = append(sec.query, v)
			}
		}
		rest += "?" + hidden
	}
	return scheme + rest, sec
}

// scrub is the safety net under the redaction above: errors from a Doer we
// do not control may quote the URL. Short strings are left alone, as too
// likely to mangle unrelated words and to be no secret at all: userinfo
// parts are scrubbed from 3 characters, query values from 8.
func (t target) scrub(err error) error {
	msg := err.Error()
	clean := replaceAll(msg, t.secrets.user, 3)
	clean = replaceAll(clean, t.secrets.query, 8)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

func replaceAll(s string, secrets []string, minLen int) string {
	for _, sec := range secrets {
		if len(sec) < minLen {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			s = strings.ReplaceAll(s, form, hidden)
		}
	}
	return s
}

// scrubbedError shows a cleaned message but keeps the chain for errors.Is/As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// RedactURL returns an artifact URL fit for logs and plans: userinfo and
// query values hidden, also when the text does not parse as a URL.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		s, _ := redactURL(u)
		return s
	}
	s, _ := redactRaw(raw)
	return s
}
