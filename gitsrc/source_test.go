package gitsrc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts gitsrc.Options
		ok   bool
	}{
		{gitsrc.Options{URL: "https://git.example.com/deploy.git"}, true},
		{gitsrc.Options{URL: "ssh://git@git.example.com:2222/deploy.git"}, true},
		{gitsrc.Options{URL: "git@github.com:org/deploy.git"}, true},
		{gitsrc.Options{URL: "file:///srv/deploy"}, true},
		{gitsrc.Options{URL: "/srv/deploy"}, true},
		{gitsrc.Options{URL: "deploy", Ref: "refs/tags/v1.2"}, true},
		{gitsrc.Options{URL: "/srv/deploy", Ref: "release/2024-01"}, true},
		{gitsrc.Options{URL: ""}, false},
		{gitsrc.Options{URL: "ftp://host/x"}, false},
		{gitsrc.Options{URL: "https:///no-host"}, false},
		{gitsrc.Options{URL: "file://relative/path"}, false},
		{gitsrc.Options{URL: "/srv/deploy\n"}, false},
		{gitsrc.Options{URL: "/srv/deploy", Ref: "a..b"}, false},
		{gitsrc.Options{URL: "/srv/deploy", Ref: "-x"}, false},
		{gitsrc.Options{URL: "/srv/deploy", Ref: "main~1"}, false},
		{gitsrc.Options{URL: "/srv/deploy", Ref: "refs/remotes/origin/main"}, false},
		{gitsrc.Options{URL: "/srv/deploy", Ref: "x.lock"}, false},
		{gitsrc.Options{URL: "/srv/deploy", Timeout: -time.Second}, false},
	} {
		_, err := gitsrc.New(tc.opts)
		if (err == nil) != tc.ok {
			t.Errorf("New(%+v): %v, want ok=%v", tc.opts, err, tc.ok)
		}
	}
}

func TestNewErrorHidesCredentials(t *testing.T) {
	t.Parallel()
	_, err := gitsrc.New(gitsrc.Options{URL: "ftp://user:s3cret-pw@host/x"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("New: %v, want an error without the password", err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		secret   string // must not appear in any spelling
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
		got := gitsrc.RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.secret != "" && strings.Contains(got, tc.secret) {
			t.Errorf("RedactURL(%q) = %q shows the secret", tc.in, got)
		}
	}
}
