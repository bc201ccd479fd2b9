package agentdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenCreatesPrivateDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Join(path, "versions")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: got mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
	if d.Path() != path {
		t.Errorf("got %s, want %s", d.Path(), path)
	}
	if _, err := Open(path); err != nil { // again: it exists
		t.Errorf("second Open: %v", err)
	}
}

func TestOpenRefusesUnsafeDir(t *testing.T) {
	for _, tc := range []struct {
		what  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"group-writable", func(t *testing.T, p string) { mkdir(t, p, 0o770) }, "other users write"},
		{"world-writable", func(t *testing.T, p string) { mkdir(t, p, 0o777) }, "other users write"},
		{"versions world-writable", func(t *testing.T, p string) {
			mkdir(t, p, 0o700)
			mkdir(t, filepath.Join(p, "versions"), 0o777)
		}, "other users write"},
		{"a file", func(t *testing.T, p string) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a directory"},
		{"a symlink", func(t *testing.T, p string) {
			mkdir(t, p+".real", 0o700)
			if err := os.Symlink(p+".real", p); err != nil {
				t.Fatal(err)
			}
		}, "not a directory"},
		{"parent world-writable", func(t *testing.T, p string) {
			if err := os.Chmod(filepath.Dir(p), 0o777); err != nil {
				t.Fatal(err)
			}
		}, "lets every user replace it"},
		{"another owner", func(t *testing.T, p string) {
			if os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			mkdir(t, p, 0o700)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent")
			tc.setup(t, path)
			_, err := Open(path)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrUnsafe saying %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), filepath.Dir(path)) {
				t.Errorf("error %q does not name the directory", err)
			}
		})
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestDefaultDir(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if got := DefaultDir(get); got != "/var/lib/reconciler/agent" {
		t.Errorf("no STATE_DIRECTORY: got %s", got)
	}
	env["STATE_DIRECTORY"] = "/var/lib/reconciler/web:/var/lib/other"
	if got := DefaultDir(get); got != "/var/lib/reconciler/web/agent" {
		t.Errorf("got %s, want /var/lib/reconciler/web/agent", got)
	}
}
