package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestExitCodesByKind: exit 2 is a usage error however it is worded, and
// an error of a pass is 1 whatever words it quotes. A desired file whose
// version reads "invalid argument" (cobra's phrase for a bad flag value)
// once made sync exit 2.
func TestExitCodesByKind(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)
	url, sum := d.art.put("/web-x", binary("x"))
	for _, v := range []string{"invalid argument", "unknown flag", "required flag", "accepts 1 arg(s)"} {
		d.commitDesired(fmt.Sprintf(`{"version": %q, "bin": {"url": %q, "sha256": %q}}`, v, url, sum))
		_, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...)
		if code != 1 || !strings.Contains(errOut, v) {
			t.Errorf("sync of version %q: got exit %d %q, want 1 and an error quoting the version", v, code, errOut)
		}
	}
	for _, args := range [][]string{
		{"bogus"},
		{"stat", "--dir", dir},
		{"sync", "--bogus"},
		{"sync", "-z"},
		{"sync", "--repo", d.URL(), "--dir", dir, "extra"},
		{"sync", "--keep", "x"},
		{"sync", "--dir"},
		{"sync", "--dir", dir}, // no --repo
		{"status"},             // no --dir
		{"version", "extra"},
		{"help", "status", "extra", "--bogus"},
		{"suspend", "--dir", dir}, // no --reason
		{"status", "--dir", t.TempDir()},
	} {
		_, errOut, code := runCLI(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "reconciler: ") {
			t.Errorf("%q: got exit %d %q, want 2 and a message", args, code, errOut)
		}
	}
}
