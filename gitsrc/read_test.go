package gitsrc_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// TestReadFile reads hostile paths and symlinks from a real commit.
func TestReadFile(t *testing.T) {
	t.Parallel()
	r, _ := seedRepo(t)
	r.WriteFile("big.bin", []byte(strings.Repeat("x", 2000)))
	r.WriteFile("sub/deeper/file.txt", []byte("deep"))
	r.Symlink("web/cfg.json", "inside")               // file link, relative to the root
	r.Symlink("../web/cfg.json", "sub/up")            // relative to the link's directory
	r.Symlink("web", "dirlink")                       // directory link on the way
	r.Symlink("../dirlink/cfg.json", "sub/chain")     // a link through a link
	r.Symlink("deeper/../../current.conf", "sub/dot") // ".." inside the tree is fine
	r.Symlink("../../etc/passwd", "out-relative")
	r.Symlink("/etc/passwd", "out-absolute")
	r.Symlink("../..", "sub/root-parent") // a directory outside the repo
	r.Symlink("loop-b", "loop-a")
	r.Symlink("loop-a", "loop-b")
	r.Symlink("nowhere", "dangling")
	r.Symlink(".", "self")
	rev := r.Commit("fixtures")
	s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: cacheDir(t), MaxFileSize: 1000})
	fetch(t, s, rev)
	gitlink := strings.Repeat("1", 40)
	r.Git("update-index", "--add", "--cacheinfo", "160000,"+gitlink+",module")
	r.Git("commit", "-q", "-m", "a submodule")
	revSub := r.Git("rev-parse", "HEAD")

	for _, tc := range []struct {
		path    string
		want    string // content, if no error is wanted
		wantErr error  // errors.Is target; errAny: some other error
	}{
		{path: "current.conf", want: "version 1\n"},
		{path: "./web//cfg.json", want: `{"port": 8080}`},
		{path: "sub/deeper/file.txt", want: "deep"},
		{path: "inside", want: `{"port": 8080}`},
		{path: "sub/up", want: `{"port": 8080}`},
		{path: "dirlink/cfg.json", want: `{"port": 8080}`},
		{path: "sub/chain", want: `{"port": 8080}`},
		{path: "sub/dot", want: "version 1\n"},
		{path: "self/self/current.conf", want: "version 1\n"},

		{path: "missing.conf", wantErr: gitsrc.ErrFileNotFound},
		{path: "web/missing.json", wantErr: gitsrc.ErrFileNotFound},
		{path: "nodir/x", wantErr: gitsrc.ErrFileNotFound},
		{path: "current.conf/x", wantErr: gitsrc.ErrFileNotFound},
		{path: "dangling", wantErr: gitsrc.ErrFileNotFound},

		{path: "", wantErr: gitsrc.ErrPathEscapes},
		{path: ".", wantErr: gitsrc.ErrPathEscapes},
		{path: "../x", wantErr: gitsrc.ErrPathEscapes},
		{path: "/etc/passwd", wantErr: gitsrc.ErrPathEscapes},
		{path: "a/../../b", wantErr: gitsrc.ErrPathEscapes},
		{path: "web/../current.conf", wantErr: gitsrc.ErrPathEscapes},
		{path: `..\x`, wantErr: gitsrc.ErrPathEscapes},
		{path: "current.conf\x00.txt", wantErr: gitsrc.ErrPathEscapes},
		{path: "out-relative", wantErr: gitsrc.ErrPathEscapes},
		{path: "out-absolute", wantErr: gitsrc.ErrPathEscapes},
		{path: "sub/root-parent/etc/passwd", wantErr: gitsrc.ErrPathEscapes},

		{path: "big.bin", wantErr: gitsrc.ErrFileTooLarge},
		{path: "web", wantErr: errAny},
		{path: "dirlink", wantErr: errAny},
		{path: "loop-a", wantErr: errAny},
	} {
		data, err := s.ReadFile(t.Context(), rev, tc.path)
		t.Logf("ReadFile(%q): %v", tc.path, err)
		switch {
		case tc.wantErr == nil && err != nil:
			t.Errorf("ReadFile(%q): %v, want %q", tc.path, err, tc.want)
		case tc.wantErr == nil && string(data) != tc.want:
			t.Errorf("ReadFile(%q) = %q, want %q", tc.path, data, tc.want)
		case tc.wantErr == nil:
		case err == nil:
			t.Errorf("ReadFile(%q) = %q, want an error", tc.path, data)
		case tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
			t.Errorf("ReadFile(%q): %v, want errors.Is %v", tc.path, err, tc.wantErr)
		case tc.wantErr == errAny && (errors.Is(err, gitsrc.ErrFileNotFound) || errors.Is(err, gitsrc.ErrPathEscapes)):
			t.Errorf("ReadFile(%q): %v, want an error of its own kind", tc.path, err)
		case !strings.Contains(err.Error(), strconv.Quote(tc.path)):
			t.Errorf("ReadFile(%q): error %q does not name the path", tc.path, err)
		}
	}

	t.Run("missing file names path and commit", func(t *testing.T) {
		_, err := s.ReadFile(t.Context(), rev, "web/missing.json")
		if !strings.Contains(err.Error(), `"web/missing.json"`) || !strings.Contains(err.Error(), rev[:12]) {
			t.Errorf("error %q, want the path and the short commit named", err)
		}
	})
	t.Run("submodule", func(t *testing.T) {
		if got := fetch(t, s, revSub); got != revSub {
			t.Fatalf("Fetch = %.12s, want %.12s", got, revSub)
		}
		_, err := s.ReadFile(t.Context(), revSub, "module")
		if err == nil || !strings.Contains(err.Error(), "submodule") {
			t.Errorf("ReadFile of a gitlink: %v, want an error saying submodule", err)
		}
	})
	t.Run("commit not fetched", func(t *testing.T) {
		_, err := s.ReadFile(t.Context(), strings.Repeat("ab", 20), "current.conf")
		if err == nil || errors.Is(err, gitsrc.ErrFileNotFound) {
			t.Errorf("ReadFile at an unknown commit: %v, want an error other than ErrFileNotFound", err)
		}
	})
	t.Run("bad rev", func(t *testing.T) {
		if _, err := s.ReadFile(t.Context(), "main", "current.conf"); err == nil {
			t.Error("ReadFile at rev \"main\" succeeded, want an error (a full hash is required)")
		}
	})
}

var errAny = errors.New("any error but not-found and escapes")

// TestCheckPath is the lexical check alone.
func TestCheckPath(t *testing.T) {
	t.Parallel()
	for path, ok := range map[string]bool{
		"current.conf":       true,
		"hosts/web-1/a.conf": true,
		"./web/cfg.json":     true,
		"web//cfg.json":      true,
		"..foo/bar..":        true,
		"":                   false,
		".":                  false,
		"./":                 false,
		"..":                 false,
		"../x":               false,
		"a/..":               false,
		"a/../../b":          false,
		"/etc/passwd":        false,
		"//etc/passwd":       false,
		`a\..\..\b`:          false,
		"a\x00b":             false,
		"a\nb":               false,
		"\xff":               false,
	} {
		err := gitsrc.CheckPath(path)
		if ok && err != nil {
			t.Errorf("CheckPath(%q): %v, want nil", path, err)
		}
		if !ok && !errors.Is(err, gitsrc.ErrPathEscapes) {
			t.Errorf("CheckPath(%q): %v, want ErrPathEscapes", path, err)
		}
	}
}
