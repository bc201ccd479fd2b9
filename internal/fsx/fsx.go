// Package fsx holds the file system primitives every package needs the
// same way: one copy, so that they cannot disagree on what a filesystem
// that cannot fsync a directory means.
package fsx

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// SyncDir fsyncs a directory, making renames and creations in it durable.
// Filesystems that cannot fsync a directory (EINVAL, unsupported) are not an
// error: there is nothing more to be done on them.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
