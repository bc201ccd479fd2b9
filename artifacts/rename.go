package artifacts

import (
	"errors"
	"io/fs"
	"os"
)

// checkThenRename is renameNoReplace with a gap between check and rename.
func checkThenRename(from, to string) error {
	_, err := os.Lstat(to)
	if err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(from, to)
}
