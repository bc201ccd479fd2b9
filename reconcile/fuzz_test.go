package reconcile

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseDesired: any input either parses into a desired state that
// satisfies every rule of docs/reference.md, or is refused with ErrInvalidDesired
// naming the file. It never panics.
func FuzzParseDesired(f *testing.F) {
	for _, s := range []string{
		`{"version":"2.0","bin":{"url":"https://a.example/web","sha256":"` + goodSum + `"},"cfg":{"path":"web/cfg-2.0.json"}}`,
		`{"version":"1","bin":{"path":"bin/app"}}`,
		`{"version":"1","bin":{"url":"file:///srv/a","sha256":"` + goodSum + `"},"cfg":{"path":"../x"}}`,
		`{"version":"1","version":"2"}`, `{"version":".1"}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDesired("web/current.conf", data)
		if err != nil {
			if !errors.Is(err, ErrInvalidDesired) || !strings.HasPrefix(err.Error(), "web/current.conf: ") {
				t.Fatalf("error %q does not wrap ErrInvalidDesired with the file name", err)
			}
			return
		}
		if !versionRE.MatchString(d.Version) || strings.HasPrefix(d.Version, ".") || strings.ContainsAny(d.Version, "/\\") {
			t.Fatalf("accepted version %q", d.Version)
		}
		for _, a := range []*Artifact{d.Bin, d.Cfg} {
			if a == nil {
				continue
			}
			if (a.URL == "") == (a.Path == "") {
				t.Fatalf("accepted artifact %+v with not exactly one source", a)
			}
			if a.Path != "" && checkRepoPath(a.Path) != nil {
				t.Fatalf("accepted path %q", a.Path)
			}
			if a.URL != "" && len(a.SHA256) != 64 {
				t.Fatalf("accepted digest %q", a.SHA256)
			}
		}
	})
}

// FuzzCheckRepoPath: an accepted path stays inside the repo whatever root
// it is joined to.
func FuzzCheckRepoPath(f *testing.F) {
	for _, s := range []string{"web/current.conf", "../x", "a/../../b", "/etc/passwd", "a//b", "./a", "a\\..\\b", "..", "a/..", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkRepoPath(p) != nil {
			return
		}
		joined := path.Join("/repo", p)
		if !strings.HasPrefix(joined, "/repo/") {
			t.Fatalf("accepted %q, which resolves to %q outside the repo", p, joined)
		}
	})
}

// FuzzParseLocalConf: a hand-edited release/current.conf is either refused
// or names regular files directly in release/, whatever the paths, dots and
// symlinks (release/ holds a link to /bin/sh and one to a release file).
func FuzzParseLocalConf(f *testing.F) {
	l, err := NewLayout(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	rel := l.Release()
	os.MkdirAll(rel, 0o755)
	os.WriteFile(filepath.Join(rel, "app.1"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(rel, "cfg.1"), []byte("x"), 0o640)
	os.WriteFile(filepath.Join(l.Dir, "outside"), []byte("x"), 0o755)
	os.Symlink("/bin/sh", filepath.Join(rel, "app.sh"))
	os.Symlink("app.1", filepath.Join(rel, "app.alias"))
	os.Symlink("..", filepath.Join(rel, "up"))
	for _, s := range []string{
		`{"bin.file":"` + rel + `/app.1","cfg.file":"` + rel + `/cfg.1"}`,
		`{"bin.file":"app.1"}`, `{"bin.file":"../outside"}`, `{"bin.file":"/bin/sh"}`, `{"bin.file":"app.sh"}`,
		`{"bin.file":"app.alias"}`, `{"bin.file":"up/outside"}`, `{"bin.file":"` + rel + `/./app.1"}`, `{"bin.file":`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := l.parseLocalConf(data)
		if err != nil {
			if !errors.Is(err, errBadLocalConf) {
				t.Fatalf("error %v does not wrap ErrBadLocalConf", err)
			}
			return
		}
		for _, p := range []string{c.BinFile, c.CfgFile} {
			if p == "" {
				continue
			}
			fi, err := os.Lstat(p)
			if filepath.Dir(p) != rel || err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("accepted %q: not a regular file directly in release/ (%v)", p, err)
			}
		}
	})
}
