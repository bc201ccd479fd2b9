package restart

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/fsx"
)

// TempLinkPrefix starts the names of temporary links; CleanLinks removes
// leftovers of a process killed between symlink and rename.
const TempLinkPrefix = ".link-tmp-"

// Swap points the link dir/name at target (stored as given; relative targets
// are resolved against dir), atomically. It is a no-op when the link already
// points there.
func Swap(dir, name, target string) error {
	link := filepath.Join(dir, name)
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	if fi, err := os.Lstat(link); err == nil && fi.IsDir() {
		return fmt.Errorf("swap %s: a directory is in the link's place", link)
	}
	tmp := filepath.Join(dir, TempLinkPrefix+name+"-"+randomHex())
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("swap %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("swap %s: %w", link, err)
	}
	return fsx.SyncDir(dir)
}

// CleanLinks removes temporary links left in dir by a killed process.
func CleanLinks(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempLinkPrefix) && e.Type()&os.ModeSymlink != 0 {
			errs = append(errs, os.Remove(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
