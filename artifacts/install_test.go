package artifacts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := []byte(`{"listen": ":8080"}` + "\n")
	res, err := Install(dir, "cfg.2.0", data, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Path: filepath.Join(dir, "cfg.2.0"), SHA256: digest(data), Size: int64(len(data))}
	if res != want {
		t.Errorf("got %+v, want %+v", res, want)
	}
	assertFile(t, res.Path, data, 0o640)

	res, err = Install(dir, "cfg.2.0", data, 0o640)
	want.Reused = true
	if err != nil || res != want {
		t.Errorf("again: got %+v, %v; want %+v", res, err, want)
	}

	_, err = Install(dir, "cfg.2.0", []byte("other\n"), 0o640)
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), res.Path) {
		t.Errorf("other bytes: got %v, want ErrImmutable naming %s", err, res.Path)
	}
	assertFile(t, res.Path, data, 0o640)
	assertEntries(t, dir, "cfg.2.0")
}

func TestInstallFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Install(filepath.Join(dir, "missing"), "cfg", []byte("x"), 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: got %v, want ErrNotExist", err)
	}
	if _, err := Install(dir, "a/b", []byte("x"), 0o644); err == nil {
		t.Error("name with a slash: got no error")
	}
	// A dangling symlink under the name is not taken for "absent".
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "cfg.1.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir, "cfg.1.0", []byte("x"), 0o644); err == nil {
		t.Error("dangling symlink: got no error")
	}
	assertEntries(t, dir, "cfg.1.0")
}
