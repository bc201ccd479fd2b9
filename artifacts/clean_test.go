package artifacts

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCleanTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keep := []string{"app.2.0", ".hidden", ".app.tmp-", "app.2.0.tmp-1", ".app.tmp-x.y", ".tmp-1"}
	leftovers := []string{".app.2.0.tmp-xyz", ".cfg.2.0.tmp-1234567890"}
	for _, name := range append(slices.Clone(keep), leftovers...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".dir.tmp-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := CleanTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range leftovers {
		want = append(want, filepath.Join(dir, name))
	}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	assertEntries(t, dir, append(keep, ".dir.tmp-1")...)

	// What this package names its temp files is what CleanTemp removes.
	p, err := createTemp(dir, "app.3.0")
	if err != nil {
		t.Fatal(err)
	}
	p.f.Close()
	removed, err = CleanTemp(dir)
	if err != nil || len(removed) != 1 || removed[0] != p.f.Name() {
		t.Errorf("got %q, %v; want [%s]", removed, err, p.f.Name())
	}

	if removed, err := CleanTemp(filepath.Join(dir, "missing")); err != nil || removed != nil {
		t.Errorf("missing dir: got %q, %v; want nothing", removed, err)
	}
}

func TestFileSHA256(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FileSHA256(path)
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; err != nil || got != want {
		t.Errorf("got %s, %v; want %s", got, err, want)
	}
	if _, err := FileSHA256(path + ".missing"); !os.IsNotExist(err) {
		t.Errorf("missing: got %v, want ErrNotExist", err)
	}
}
