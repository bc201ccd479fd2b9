// Package redact is the one place that decides what of a URL or an error
// text may be shown: every package that logs a URL or returns an error
// quoting one uses it, so the deploy repo's URL and an artifact's URL are
// printed the same way and no copy of the rule can disagree.
//
// The rule: the whole userinfo is replaced by "xxxxx" (over HTTP a user name
// is often the token itself: https://TOKEN@host), except an ssh:// user
// name, which is an account ("git"); a password in scp-like userinfo goes; query values are
// replaced by "xxxxx" (presigned URLs carry signatures there), their keys
// kept; a fragment goes. A URL that does not parse loses everything between
// "://" and the last "@" of its authority, and its query. Local paths and
// scp-like addresses without a password are shown as they are.
//
// Text is the safety net under it: errors from code we do not control may
// quote a URL, so every spelling of every secret (as given, escaped,
// unescaped) is replaced in the text.
package redact

import (
	"net/url"
	"strings"
)

// Mark replaces what is hidden.
const Mark = "xxxxx"

// Minimum lengths of what Text replaces: shorter strings are too likely to
// mangle unrelated words and to be no secret at all.
const (
	minUser  = 3 // userinfo parts
	minQuery = 8 // query values
)

// URL returns raw in a form safe to log.
func URL(raw string) string {
	if !strings.Contains(raw, "://") {
		if IsSCPLike(raw) {
			user, rest, ok := strings.Cut(raw, "@")
			if name, _, hasPass := strings.Cut(user, ":"); ok && hasPass {
				return name + "@" + rest
			}
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || (u.User == nil && hasUserinfo(raw)) {
		// url.Parse read the text another way than "scheme://authority"
		// (no scheme, an opaque URL): cut by hand.
		return unparsed(raw)
	}
	c := *u
	if c.User != nil {
		if isSSH(&c) {
			c.User = url.User(c.User.Username())
		} else {
			c.User = url.User(Mark)
		}
	}
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery = hideQuery(c.RawQuery)
	}
	c.ForceQuery = false
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// hideQuery keeps the keys of a query and hides the values; a query that
// does not parse is hidden whole.
func hideQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil || len(q) == 0 {
		return Mark
	}
	for _, vs := range q {
		for i := range vs {
			vs[i] = Mark
		}
	}
	return q.Encode()
}

// unparsed cuts the userinfo and the query out of a URL that url.Parse
// refuses.
func unparsed(raw string) string {
	scheme, rest, _ := strings.Cut(raw, "://")
	rest, _, hasQuery := strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	authority, path, hasPath := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = Mark + "@" + authority[i+1:]
	}
	if hasPath {
		authority += "/" + path
	}
	if hasQuery {
		authority += "?" + Mark
	}
	return scheme + "://" + authority
}

// hasUserinfo reports an "@" in the authority after the first "://".
func hasUserinfo(raw string) bool {
	_, rest, _ := strings.Cut(raw, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, "@")
}

// IsSCPLike reports git's scp-like syntax, [user@]host:path: a colon before
// any slash. A path with a slash before its first colon is a local path.
func IsSCPLike(raw string) bool {
	i := strings.Index(raw, ":")
	return i > 0 && !strings.Contains(raw[:i+1], "/")
}

func isSSH(u *url.URL) bool { return u.Scheme == "ssh" || strings.HasSuffix(u.Scheme, "+ssh") }

// Secrets returns the credentials raw carries, in every spelling an error
// text could show them, for Text: the password, the user name (but an
// ssh:// account), and query values. Parts too short to scrub safely are
// left out.
func Secrets(raw string) []string {
	var user, query []string
	switch {
	case strings.Contains(raw, "://"):
		scheme, _, _ := strings.Cut(raw, "://")
		ssh := scheme == "ssh" || strings.HasSuffix(scheme, "+ssh")
		// The raw text first (still escaped, as a URL quoted back shows
		// it), then the decoded parts.
		rawUser, rawPass, rawQuery := rawParts(raw)
		if !ssh {
			user = append(user, rawUser) // over HTTP a user name may be a token
		}
		user = append(user, rawPass)
		query = append(query, rawQuery...)
		if u, err := url.Parse(raw); err == nil {
			if u.User != nil {
				if p, ok := u.User.Password(); ok {
					user = append(user, p)
				}
				if !ssh {
					user = append(user, u.User.Username())
				}
			}
			if q, err := url.ParseQuery(u.RawQuery); err == nil {
				for _, vs := range q {
					query = append(query, vs...)
				}
			}
		}
	case IsSCPLike(raw):
		if u, _, ok := strings.Cut(raw, "@"); ok {
			if _, pass, ok := strings.Cut(u, ":"); ok {
				user = append(user, pass)
			}
		}
	}
	return append(spellAll(filter(user, minUser)), spellAll(filter(query, minQuery))...)
}

// rawParts cuts the userinfo's user and password and the query values out
// of a URL's text as written, without parsing (it may not parse).
func rawParts(raw string) (user, pass string, query []string) {
	_, rest, _ := strings.Cut(raw, "://")
	rest, q, _ := strings.Cut(rest, "?")
	q, _, _ = strings.Cut(q, "#")
	authority, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		user, pass, _ = strings.Cut(authority[:i], ":")
	}
	for _, kv := range strings.Split(q, "&") {
		if _, v, ok := strings.Cut(kv, "="); ok {
			query = append(query, v)
		}
	}
	return user, pass, query
}

func filter(in []string, minLen int) []string {
	var out []string
	for _, s := range in {
		if len(s) >= minLen {
			out = append(out, s)
		}
	}
	return out
}

// Spellings returns the forms a secret takes in texts: as given, query-
// and path-escaped, escaped as userinfo, and unescaped.
func Spellings(secret string) []string {
	if secret == "" {
		return nil
	}
	out := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), url.UserPassword("", secret).String()[1:]}
	if u, err := url.PathUnescape(secret); err == nil {
		out = append(out, u)
	}
	return out
}

func spellAll(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, Spellings(s)...)
	}
	return out
}

// Text replaces every spelling of the secrets in text by Mark.
func Text(text string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, Mark)
		}
	}
	return text
}

// Contains reports whether text shows one of the secrets.
func Contains(text string, secrets []string) bool {
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			return true
		}
	}
	return false
}
