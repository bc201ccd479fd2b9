package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version, commit and date override what the binary's build info says,
// for builds that carry none (GOFLAGS=-buildvcs=false, a tarball without
// .git, a package built from a source archive):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// They are the only package-level variables: -X can set nothing else.
var (
	version string
	commit  string
	date    string
)

// unknown is printed for a version or commit that nothing recorded.
const unknown = "unknown"

// versionLine is what `reconciler version` and `reconciler --version` print:
// the module version, the commit built from and the Go version, e.g.
// "reconciler v1.2.3 commit 0123abcd… (modified) built 2026-01-02T03:04:05Z
// go1.24.2" (no "built" when nothing recorded a time). bi may be nil (a
// binary without build info); a non-empty -X value (ver, rev, when) wins
// over bi.
func versionLine(bi *debug.BuildInfo, ver, rev, when string) string {
	goVersion, modified := runtime.Version(), false
	if bi != nil {
		goVersion = bi.GoVersion
		if ver == "" {
			ver = bi.Main.Version
		}
		if rev == "" {
			var vcsTime string
			rev, modified, vcsTime = vcsInfo(bi)
			if when == "" {
				when = vcsTime
			}
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
	if when != "" {
		line += " built " + when
	}
	return line + " " + goVersion
}

// vcsInfo returns the revision the binary was built from, whether the
// work tree had uncommitted changes and the revision's commit time, as `go
// build` records them.
func vcsInfo(bi *debug.BuildInfo) (rev string, modified bool, when string) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	return rev, modified, when
}

// buildVersion is versionLine for the running binary.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionLine(bi, version, commit, date)
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit built from, when, and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, buildVersion())
			return err
		},
	}
}
