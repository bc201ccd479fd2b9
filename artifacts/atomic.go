package artifacts

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/reconciler-dev/reconciler/internal/fsx"
)

// pending is a temp file next to its final name, removed unless committed.
type pending struct {
	f         *os.File
	dir       string
	committed bool
}

func createTemp(dir, name string) (*pending, error) {
	f, err := os.CreateTemp(dir, TempPrefix+name+TempInfix+"*")
	if err != nil {
		return nil, diskErr(err)
	}
	return &pending{f: f, dir: dir}, nil
}

// discard removes the temp file; a no-op once committed. Deferred on every path.
func (p *pending) discard() {
	if p.committed {
		return
	}
	p.f.Close()
	os.Remove(p.f.Name())
}

// commit sets mode, flushes the data to disk, and renames the file to dest,
// over an existing file only if replace (else the error wraps fs.ErrExist);
// then it fsyncs the directory so that the rename survives a crash.
func (p *pending) commit(dest string, mode os.FileMode, replace bool) error {
	if err := p.f.Chmod(mode.Perm()); err != nil {
		return err
	}
	if err := p.f.Sync(); err != nil {
		return diskErr(err)
	}
	if err := p.f.Close(); err != nil {
		return diskErr(err)
	}
	rename := renameNoReplace
	if replace {
		rename = os.Rename
	}
	if err := rename(p.f.Name(), dest); err != nil {
		return diskErr(err)
	}
	p.committed = true
	return fsx.SyncDir(p.dir)
}

// WriteFileAtomic writes data to path via a temp file in the same dir,
// fsync, rename, fsync dir (renameio style): readers see the old or the new
// content, never a mix, even after a crash. It overwrites an existing file
// (no immutability check): it is meant for state files. A symlink at path is
// replaced by the file, not followed.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := checkName(name); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	p, err := createTemp(dir, name)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer p.discard()
	if _, err := p.f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, diskErr(err))
	}
	if err := p.commit(path, mode, true); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
