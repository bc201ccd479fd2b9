package artifacts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Temp files are named TempPrefix + name + TempInfix + random digits, e.g.
// ".app.2.0.tmp-2950284713": hidden, next to their final name, and
// recognisable by CleanTemp.
const (
	TempPrefix = "."
	TempInfix  = ".tmp-"
)

// CleanTemp removes leftover temp files (from a killed run) in dir and
// returns their paths. Only regular files whose names match this package's
// temp pattern are touched. A missing dir holds nothing to clean: nil, nil.
// It must not run while Fetch, Install or WriteFileAtomic write into dir.
func CleanTemp(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clean temp files in %s: %w", dir, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("clean temp files in %s: %w", dir, err)
	}
	return removed, nil
}

// isTempName reports whether name is TempPrefix + non-empty name +
// TempInfix + a non-empty run of letters and digits.
func isTempName(name string) bool {
	i := strings.LastIndex(name, TempInfix)
	if !strings.HasPrefix(name, TempPrefix) || i <= len(TempPrefix) {
		return false
	}
	suffix := name[i+len(TempInfix):]
	if suffix == "" {
		return false
	}
	for _, r := range suffix {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// checkName refuses names that are not one plain directory entry, or that
// CleanTemp would take for a temp file.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || isTempName(name) {
		return fmt.Errorf("invalid file name %q: want a plain name", name)
	}
	return nil
}
