package gitsrc_test

import (
	"os"
	"path/filepath"
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

func TestSameRepo(t *testing.T) {
	t.Parallel()
	wd, _ := os.Getwd()
	for _, c := range []struct {
		a, b gitsrc.Options
		want bool
	}{
		{gitsrc.Options{URL: "https://git.example.com/deploy.git"}, gitsrc.Options{URL: "https://git.example.com/deploy.git", Ref: "main"}, true},
		{gitsrc.Options{URL: "deploy"}, gitsrc.Options{URL: filepath.Join(wd, "deploy")}, true},
		{gitsrc.Options{URL: "https://git.example.com/deploy.git"}, gitsrc.Options{URL: "https://git.example.com/agent.git"}, false},
		{gitsrc.Options{URL: "https://git.example.com/deploy.git"}, gitsrc.Options{URL: "https://git.example.com/deploy.git", Ref: "agent"}, false},
		{gitsrc.Options{URL: ""}, gitsrc.Options{URL: ""}, false},
	} {
		if got := gitsrc.SameRepo(c.a, c.b); got != c.want {
			t.Errorf("SameRepo(%+v, %+v): got %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
