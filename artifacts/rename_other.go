//go:build !linux

package artifacts

// renameNoReplace renames from to to unless to exists (fs.ErrExist). Only
// Linux has it in one step; elsewhere the caller's lock covers the gap.
func renameNoReplace(from, to string) error {
	return checkThenRename(from, to)
}
