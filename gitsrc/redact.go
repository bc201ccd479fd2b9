package gitsrc

import (
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// redactedMark replaces credentials in URLs and error texts.
const redactedMark = "xxxxx"

// RedactURL returns raw in a form safe to log.
//
// For URLs with a scheme the whole userinfo is removed, except that an ssh://
// user name is kept (it is an account, "git", not a secret) while any
// password is dropped: over HTTP the user name is often the token itself
// (https://TOKEN@host/x, https://TOKEN:x-oauth-basic@host/x), so no part of
// it can be shown. A query string is replaced by "xxxxx". An scp-like
// address (git@host:path) and a local path are returned unchanged, except a
// password in scp-like userinfo. A URL that does not parse loses everything
// between "://" and the last "@" of its authority.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		if isSCPLike(raw) {
			user, rest, ok := strings.Cut(raw, "@")
			if name, _, hasPass := strings.Cut(user, ":"); ok && hasPass {
				return name + "@" + rest
			}
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactUnparsed(raw)
	}
	if u.User != nil {
		if u.Scheme == "ssh" || strings.HasSuffix(u.Scheme, "+ssh") {
			u.User = url.User(u.User.Username())
		} else {
			u.User = nil
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = redactedMark, false
	}
	return u.String()
}

// redactUnparsed cuts the userinfo out of a URL that url.Parse refuses.
func redactUnparsed(raw string) string {
	scheme, rest, _ := strings.Cut(raw, "://")
	authority, path, hasPath := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = redactedMark + "@" + authority[i+1:]
	}
	if hasPath {
		authority += "/" + path
	}
	if i := strings.Index(authority, "?"); i >= 0 {
		authority = authority[:i+1] + redactedMark
	}
	return scheme + "://" + authority
}

// isSCPLike reports git's scp-like syntax, [user@]host:path: a colon before
// any slash. A path with a slash before its first colon is a local path.
func isSCPLike(raw string) bool {
	i := strings.Index(raw, ":")
	return i > 0 && !strings.Contains(raw[:i+1], "/")
}

// secrets returns every credential the URL and the auth method carry, in the
// spellings an error text could show them: as given, URL-escaped and
// unescaped. An ssh user name is an account, not a secret.
func secrets(raw string, auth transport.AuthMethod) []string {
	var plain []string
	switch {
	case strings.Contains(raw, "://"):
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				plain = append(plain, p)
			}
			if isTokenUser(u) {
				plain = append(plain, u.User.Username())
			}
		} else if err != nil {
			_, rest, _ := strings.Cut(raw, "://")
			authority, _, _ := strings.Cut(rest, "/")
			if i := strings.LastIndex(authority, "@"); i >= 0 {
				user, pass, _ := strings.Cut(authority[:i], ":")
				plain = append(plain, user, pass, authority[:i])
			}
		}
	case isSCPLike(raw):
		if user, _, ok := strings.Cut(raw, "@"); ok {
			if _, pass, ok := strings.Cut(user, ":"); ok {
				plain = append(plain, pass)
			}
		}
	}
	switch a := auth.(type) {
	case *githttp.BasicAuth:
		plain = append(plain, a.Password)
	case *githttp.TokenAuth:
		plain = append(plain, a.Token)
	}
	var out []string
	for _, p := range plain {
		if p == "" {
			continue
		}
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p), url.UserPassword("", p).String()[1:])
		if u, err := url.PathUnescape(p); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// isTokenUser reports a URL user name that may be a token: over HTTP, one
// without a password (https://TOKEN@host) or a long one
// (https://TOKEN:x-oauth-basic@host). Short names ("git", "oauth2") are not
// scrubbed from error texts, where they would garble words.
func isTokenUser(u *url.URL) bool {
	if u.Scheme == "ssh" || strings.HasSuffix(u.Scheme, "+ssh") {
		return false
	}
	_, hasPass := u.User.Password()
	return !hasPass || len(u.User.Username()) >= 16
}

// redactText replaces every credential of the Source in text.
func (s *Source) redactText(text string) string {
	text = strings.ReplaceAll(text, s.url, s.logURL)
	for _, sec := range s.secrets {
		text = strings.ReplaceAll(text, sec, redactedMark)
	}
	return text
}

// containsSecret reports whether text shows a credential of the Source.
func (s *Source) containsSecret(text string) bool {
	for _, sec := range s.secrets {
		if strings.Contains(text, sec) {
			return true
		}
	}
	return false
}
