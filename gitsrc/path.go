package gitsrc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// CheckPath checks, by its text alone, a repo-relative path taken from
// untrusted input: a desired-state file names other files of the deploy
// repo, and none of them may lead out of it. The path uses '/' separators;
// it must not be empty, absolute, contain a ".." element, a backslash (no
// escapes, no Windows separators), a NUL or other control character, or be
// invalid UTF-8. "." elements and repeated slashes are allowed and ignored.
// Failures wrap ErrPathEscapes and name the path.
//
// Symlinks are not seen here; ReadFile checks them against the tree.
func CheckPath(path string) error {
	bad := func(why string) error {
		return fmt.Errorf("repo path %q: %s: %w", path, why, ErrPathEscapes)
	}
	switch {
	case path == "":
		return bad("empty")
	case !utf8.ValidString(path):
		return bad("not valid UTF-8")
	case strings.HasPrefix(path, "/"):
		return bad("absolute")
	case strings.Contains(path, `\`):
		return bad("contains a backslash")
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	empty := true
	for _, el := range strings.Split(path, "/") {
		switch el {
		case "..":
			return bad(`contains a ".." element`)
		case "", ".":
		default:
			empty = false
		}
	}
	if empty {
		return bad("names the repo root, not a file")
	}
	return nil
}

// splitPath returns the elements of a checked path without "" and ".".
func splitPath(path string) []string {
	var out []string
	for _, el := range strings.Split(path, "/") {
		if el != "" && el != "." {
			out = append(out, el)
		}
	}
	return out
}
