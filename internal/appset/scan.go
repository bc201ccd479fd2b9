package appset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Suffix ends the name of every app file.
const Suffix = ".env"

// MaxFileSize bounds an app file: settings are a few hundred bytes.
const MaxFileSize = 1 << 20

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// File is one app's settings file as Scan read it.
type File struct {
	Name string // the app: the file's name without Suffix
	Path string
	Data []byte
	Err  error // the file could not be read; Data is nil
}

// AppName returns the app a file name stands for: NAME of NAME.env, with
// NAME of [A-Za-z0-9_.-]+; ok is false for any other name.
func AppName(file string) (name string, ok bool) {
	name, ok = strings.CutSuffix(file, Suffix)
	return name, ok && nameRE.MatchString(name)
}

// Scan reads the app files of dir, sorted by name. Other names are no
// app's and are left alone; an app file that cannot be read (or is not a
// regular file, or is larger than MaxFileSize) is returned with Err.
func Scan(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read apps dir: %w", err)
	}
	var files []File
	for _, e := range entries {
		name, ok := AppName(e.Name())
		if !ok {
			continue
		}
		f := File{Name: name, Path: filepath.Join(dir, e.Name())}
		f.Data, f.Err = readFile(f.Path)
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

// readFile reads a regular file (a symlink to one is fine) of at most
// MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge)
	}
	return data, nil
}

var errTooLarge = errors.New("larger than 1 MiB: not a settings file")
