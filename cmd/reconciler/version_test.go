package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.99.1",
			Main:      debug.Module{Path: "github.com/reconciler-dev/reconciler", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: rev},
				{Key: "vcs.modified", Value: modified},
				{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			},
		}
	}
	noVCS := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		ver, rev string // -X overrides
		when     string
		want     string
	}{
		{"build info", vcs("false"), "", "", "", "reconciler v1.2.3 commit " + rev + " built 2026-01-02T03:04:05Z go1.99.1"},
		{"modified work tree", vcs("true"), "", "", "", "reconciler v1.2.3 commit " + rev + " (modified) built 2026-01-02T03:04:05Z go1.99.1"},
		{"-X wins", vcs("true"), "v9.9.9", "feedface", "2027-01-01", "reconciler v9.9.9 commit feedface built 2027-01-01 go1.99.1"},
		{"-buildvcs=false", noVCS, "", "", "", "reconciler (devel) commit unknown go1.99.1"},
		{"-buildvcs=false, -X commit", noVCS, "", "feedface", "", "reconciler (devel) commit feedface go1.99.1"},
		{"no build info", nil, "", "", "", "reconciler unknown commit unknown " + runtime.Version()},
		{"no build info, -X", nil, "v1.0.0", "feedface", "2027-01-01T00:00:00Z", "reconciler v1.0.0 commit feedface built 2027-01-01T00:00:00Z " + runtime.Version()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionLine(tc.bi, tc.ver, tc.rev, tc.when); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionCommand: `reconciler version` and `reconciler --version` print
// the same one line, with the Go version, and exit 0.
func TestVersionCommand(t *testing.T) {
	want := buildVersion() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, errOut, code := runCLI(t, args...)
		if code != 0 || out != want || errOut != "" {
			t.Errorf("%v: got exit %d, stdout %q, stderr %q; want exit 0, stdout %q", args, code, out, errOut, want)
		}
		if !strings.HasPrefix(out, "reconciler ") || !strings.Contains(out, " commit ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v: got %q, want reconciler VERSION commit REV %s", args, out, runtime.Version())
		}
	}
	if _, _, code := runCLI(t, "version", "extra"); code != 2 {
		t.Errorf("version extra: got exit %d, want 2", code)
	}
}

// TestVersionLdflags builds the real binary with -X overrides, as a release
// build without .git would (CI, the package tool), and runs both spellings.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "reconciler")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X main.version=v7.7.7 -X main.commit=c0ffee -X main.date=2026-12-07T10:00:00Z", ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	want := "reconciler v7.7.7 commit c0ffee built 2026-12-07T10:00:00Z " + runtime.Version() + "\n"
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil || string(out) != want {
			t.Errorf("reconciler %s: got %q (err %v), want %q", arg, out, err, want)
		}
	}
}
