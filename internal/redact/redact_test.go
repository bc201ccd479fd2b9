package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:s3cret@host/x.git", "https://xxxxx@host/x.git"},
		{"https://ghp_T0KEN@github.com/o/r.git", "https://xxxxx@github.com/o/r.git"},
		{"https://host/x?X-Amz-Signature=abc&b=1#frag", "https://host/x?X-Amz-Signature=xxxxx&b=xxxxx"},
		{"ssh://git:pa55@host:22/x.git", "ssh://git@host:22/x.git"},
		{"git:pa55@github.com:org/deploy.git", "git@github.com:org/deploy.git"},
		{"git@github.com:org/deploy.git", "git@github.com:org/deploy.git"},
		{"/srv/deploy", "/srv/deploy"},
		{"https://us%zzer:pa%zz55@host/x?t=secretvalue", "https://xxxxx@host/x?xxxxx"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestURLHidesSecrets: the deploy repo's URL forms (formerly
// gitsrc.RedactURL's cases), none of whose secrets may show.
func TestURLHidesSecrets(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		secret   string // must not appear
	}{
		{"https://user:s3cr%65t@host/x", "https://xxxxx@host/x", "s3cr"},
		{"https://user:s3cret@host/x.git", "https://xxxxx@host/x.git", "s3cret"},
		{"https://ghp_T0KEN@github.com/o/r.git", "https://xxxxx@github.com/o/r.git", "T0KEN"},
		{"https://T0KEN:x-oauth-basic@github.com/o/r", "https://xxxxx@github.com/o/r", "T0KEN"},
		{"https://host/x.git?private_token=T0KEN", "https://host/x.git?private_token=xxxxx", "T0KEN"},
		{"https://u:p@h/a/b?x=1&y=2#f", "https://xxxxx@h/a/b?x=xxxxx&y=xxxxx", "p@h"},
		{"ssh://git:pa55@host:22/x.git", "ssh://git@host:22/x.git", "pa55"},
		{"ssh://git@host/x.git", "ssh://git@host/x.git", ""},
		{"git@github.com:org/deploy.git", "git@github.com:org/deploy.git", ""},
		{"git:pa55@github.com:org/deploy.git", "git@github.com:org/deploy.git", "pa55"},
		{"/srv/deploy", "/srv/deploy", ""},
		{"file:///srv/deploy", "file:///srv/deploy", ""},
		{"https://us%zzer:pa%zz55@host/x", "https://xxxxx@host/x", "pa%zz55"},
		{"https://user:p@ss@host/x", "https://xxxxx@host/x", "p@ss"},
	} {
		got := URL(tc.in)
		if got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.secret != "" && strings.Contains(got, tc.secret) {
			t.Errorf("URL(%q) = %q shows the secret", tc.in, got)
		}
	}
}

// TestSecretsScrubEverySpelling: a text quoting the URL in any spelling
// shows none of its credentials after Text, and an ssh account name is not
// taken for a secret (it would garble "git-upload-pack").
func TestSecretsScrubEverySpelling(t *testing.T) {
	for _, tc := range []struct {
		url    string
		hidden []string
	}{
		{"https://alice:s%33cret@h/x?sig=presigned-signature", []string{"alice", "s3cret", "s%33cret", "presigned-signature"}},
		{"https://ghp_T0KENVALUE@h/x", []string{"ghp_T0KENVALUE"}},
		{"https://u:p%zz55word@h/x", []string{"p%zz55word"}},
		{"git:pa55word@github.com:org/deploy.git", []string{"pa55word"}},
	} {
		text := "GET " + tc.url + " failed; user " + strings.Join(tc.hidden, ", ")
		got := Text(text, Secrets(tc.url))
		for _, h := range tc.hidden {
			if strings.Contains(got, h) {
				t.Errorf("Text of %q still shows %q: %s", tc.url, h, got)
			}
		}
	}
	if got := Text("git-upload-pack failed", Secrets("ssh://git@host/x.git")); got != "git-upload-pack failed" {
		t.Errorf("an ssh account name was scrubbed: %q", got)
	}
}

// FuzzURL: whatever the text, the password part of a URL's authority never
// shows in URL's answer.
func FuzzURL(f *testing.F) {
	f.Add("https://user:secretpw@host/x?token=abcdefgh#f")
	f.Add("ssh://git:pw@host/x")
	f.Add("git:pw@host:x")
	f.Fuzz(func(t *testing.T, raw string) {
		const mark = "PW7q9zPW"
		start, end, ok := passwordSpan(raw)
		if !ok || strings.Contains(raw, mark) {
			return
		}
		withMark := raw[:start] + mark + raw[end:]
		if got := URL(withMark); strings.Contains(got, mark) {
			t.Errorf("URL(%q) = %q shows the password", withMark, got)
		}
	})
}

// passwordSpan finds the text between the first ':' after "://" and the
// last '@' of the authority: the part URL must never show.
func passwordSpan(raw string) (int, int, bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return 0, 0, false
	}
	authStart := i + 3
	authority := raw[authStart:]
	if j := strings.IndexAny(authority, "/?#"); j >= 0 {
		authority = authority[:j]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return 0, 0, false
	}
	colon := strings.Index(authority[:at], ":")
	if colon < 0 {
		return 0, 0, false
	}
	return authStart + colon + 1, authStart + at, true
}
