package gitsrc

import (
	"path"
	"strings"
	"testing"
)

// FuzzCheckPath: a path CheckPath accepts never leaves the repo root.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"web/current.conf", "../x", "a/../../b", "/etc/passwd", "a//b", "./a", "a\\..\\b", "..", "a/..", "\x00", "a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != nil {
			return
		}
		joined := path.Join("/repo", p)
		if !strings.HasPrefix(joined, "/repo/") {
			t.Fatalf("accepted %q, which resolves to %q", p, joined)
		}
	})
}
