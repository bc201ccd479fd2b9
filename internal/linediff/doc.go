// Package linediff renders the change between two texts as `diff -u` and
// `git diff` do, hunk for hunk: `reconciler diff` shows a config's change
// with it, and `reconciler bump --dry-run` a desired file's.
//
// Invariants: the edit script is a shortest one (for edits of up to
// 2*maxSplitCost lines; longer ones are still correct edits), and among
// the equally short ones it is the one GNU diff picks, so that the hunks
// read as the operator's own diff shows them (myers.go). A last line
// without a newline keeps diff's "\ No newline at end of file" marker.
//
// Caveats: it compares lines as bytes (no whitespace or case folding) and
// does not decide whether a file is text: the caller does.
package linediff
