package appdir

import (
	"path/filepath"
	"strings"
)

// The release files of a version in release/: its binary app.<version>
// and its config cfg.<version>. Every package that names, lists or parses
// a release file does it with the functions below.
const (
	binPrefix = "app."
	cfgPrefix = "cfg."
)

// BinName is the file name of a version's binary: app.<version>.
func BinName(version string) string { return binPrefix + version }

// CfgName is the file name of a version's config: cfg.<version>.
func CfgName(version string) string { return cfgPrefix + version }

// Version is the release name of a release binary: release/app.<version>.
func Version(bin string) string {
	if bin == "" {
		return ""
	}
	return strings.TrimPrefix(filepath.Base(bin), binPrefix)
}

// FileVersion returns the version a release file name (app.<version> or
// cfg.<version>) belongs to, and false for any other name. The caller
// checks that the version is one it accepts.
func FileVersion(name string) (string, bool) {
	for _, prefix := range []string{binPrefix, cfgPrefix} {
		if v, ok := strings.CutPrefix(name, prefix); ok && v != "" {
			return v, true
		}
	}
	return "", false
}
