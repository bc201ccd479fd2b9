package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit override what the binary's build info says, for
// builds that carry none (GOFLAGS=-buildvcs=false, a tarball without .git):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// They are the only package-level variables: -X can set nothing else.
var (
	version string
	commit  string
)

// unknown is printed for a version or commit that nothing recorded.
const unknown = "unknown"

// versionLine is what `reconciler version` and `reconciler --version` print:
// the module version, the commit built from and the Go version, e.g.
// "reconciler v1.2.3 commit 0123abcd… (modified) go1.24.2". bi may be nil
// (a binary without build info); a non-empty -X value (ver, rev) wins over bi.
func versionLine(bi *debug.BuildInfo, ver, rev string) string {
	goVersion, modified := runtime.Version(), false
	if bi != nil {
		goVersion = bi.GoVersion
		if ver == "" {
			ver = bi.Main.Version
		}
		if rev == "" {
			rev, modified = vcsInfo(bi)
		}
	}
	if ver == "" {
		ver = unknown
	}
	if rev == "" {
		rev = unknown
	}
	line := fmt.Sprintf("reconciler %s commit %s", ver, rev)
	if modified {
		line += " (modified)"
	}
	return line + " " + goVersion
}

// vcsInfo returns the revision the binary was built from and whether the
// work tree had uncommitted changes, as `go build` records them.
func vcsInfo(bi *debug.BuildInfo) (rev string, modified bool) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return rev, modified
}

// buildVersion is versionLine for the running binary.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionLine(bi, version, commit)
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit built from and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, buildVersion())
			return err
		},
	}
}
