// Package repopath is the one check of a path taken from the deploy repo:
// the desired state file names other files of the repo (bin.path,
// cfg.path, --path), and none of them may lead out of it. reconcile checks
// the desired file with it before anything touches disk; gitsrc checks
// again at read time, where symlinks are also followed within the tree.
package repopath

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrInvalid marks a path refused by Check.
var ErrInvalid = errors.New("invalid repo path")

// Check refuses, by its text alone, a repo-relative path that could leave
// the repo or is not a path of a file: empty, naming the root, absolute,
// holding a ".." element, a backslash (no escapes, no Windows separators), a
// NUL or other control character, or invalid UTF-8. "." elements and
// repeated slashes are allowed (Clean says whether they were there).
// Errors wrap ErrInvalid and name the path.
func Check(p string) error {
	bad := func(why string) error {
		return fmt.Errorf("repo path %q: %s: %w", p, why, ErrInvalid)
	}
	switch {
	case p == "":
		return bad("empty")
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("absolute; it must be relative to the repo root")
	case strings.Contains(p, `\`):
		return bad("contains a backslash")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	empty := true
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "..":
			return bad(`contains a ".." element: it leaves the deploy repo`)
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

// CheckClean is Check plus the clean form (no "." elements, no repeated or
// trailing slashes): what a desired state file must write, so that one
// file has one spelling.
func CheckClean(p string) error {
	if err := Check(p); err != nil {
		return err
	}
	if c := path.Clean(p); c != p {
		return fmt.Errorf("repo path %q: not in clean form (use %q): %w", p, c, ErrInvalid)
	}
	return nil
}

// Split returns the elements of a checked path without "" and ".".
func Split(p string) []string {
	var out []string
	for _, el := range strings.Split(p, "/") {
		if el != "" && el != "." {
			out = append(out, el)
		}
	}
	return out
}
