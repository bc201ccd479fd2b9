package artifacts

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "current.conf")
	if err := WriteFileAtomic(path, []byte("v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, []byte("v1\n"), 0o600)
	// It overwrites, and replaces a symlink rather than writing through it.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, path); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, []byte("v2\n"), 0o644)
	assertFile(t, other, []byte("keep\n"), 0o644)
	if st, err := os.Lstat(path); err != nil || !st.Mode().IsRegular() {
		t.Errorf("%s is %v, %v; want a regular file", path, st.Mode(), err)
	}
	assertEntries(t, dir, "current.conf", "other")

	err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: got %v, want ErrNotExist", err)
	}
}

func TestRenameNoReplace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	for _, p := range []string{from, to} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, rename := range map[string]func(string, string) error{
		"renameNoReplace": renameNoReplace, "checkThenRename": checkThenRename,
	} {
		if err := rename(from, to); !errors.Is(err, fs.ErrExist) {
			t.Errorf("%s over an existing file: got %v, want ErrExist", name, err)
		}
		assertFile(t, to, []byte(to), 0o644)
	}
	if err := renameNoReplace(from, to+"2"); err != nil {
		t.Fatal(err)
	}
	assertFile(t, to+"2", []byte(from), 0o644)
}
