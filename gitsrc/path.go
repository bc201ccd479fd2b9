package gitsrc

import (
	"fmt"

	"github.com/reconciler-dev/reconciler/internal/repopath"
)

// CheckPath checks, by its text alone, a repo-relative path taken from
// untrusted input, with the one rule of package internal/repopath (which
// reconcile applies too): not empty, not the root, not absolute, no ".."
// element, no backslash, no control character, valid UTF-8. "." elements
// and repeated slashes are allowed and ignored. Failures wrap
// ErrPathEscapes and name the path.
//
// Symlinks are not seen here; ReadFile checks them against the tree.
func CheckPath(path string) error {
	if err := repopath.Check(path); err != nil {
		return fmt.Errorf("%w: %w", ErrPathEscapes, err)
	}
	return nil
}

// splitPath returns the elements of a checked path without "" and ".".
func splitPath(path string) []string { return repopath.Split(path) }
