package appdir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLinks(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(Release(dir), 0o755)
	if got := LinkTarget(dir, BinLink); got != "" {
		t.Errorf("missing link: got %q, want \"\"", got)
	}
	os.Symlink("release/app.1", filepath.Join(dir, BinLink))
	os.Symlink(filepath.Join(dir, "release", "cfg.1"), filepath.Join(dir, CfgLink))
	if got, want := LinkTarget(dir, BinLink), filepath.Join(dir, "release", "app.1"); got != want {
		t.Errorf("relative link: got %q, want %q", got, want)
	}
	if got, want := LinkTarget(dir, CfgLink), filepath.Join(dir, "release", "cfg.1"); got != want {
		t.Errorf("absolute link: got %q, want %q", got, want)
	}
	if got := Rel(dir, filepath.Join(dir, "release", "app.1")); got != "release/app.1" {
		t.Errorf("Rel inside: got %q", got)
	}
	if got := Rel(dir, "/opt/x"); got != "/opt/x" {
		t.Errorf("Rel outside: got %q", got)
	}
	if !SameTarget(dir, "release/app.1", filepath.Join(dir, "release/app.1")) || SameTarget(dir, "", "release/app.1") || !SameTarget(dir, "", "") {
		t.Error("SameTarget: relative and absolute spellings of one file must agree, absent differs from present")
	}
}
