package artifacts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Result says what Fetch or Install did.
type Result struct {
	Path   string // final path dir/name
	SHA256 string // hex digest of the file
	Size   int64
	Reused bool // file already present with the right digest: nothing downloaded or written
}

// Install makes dir/name hold data (config files that come from the deploy
// repo itself), with the rules of Fetch: an existing equal file is Reused,
// an existing different one is an error wrapping ErrImmutable and is left
// alone, else temp file, fsync, rename, fsync dir.
func Install(dir, name string, data []byte, mode os.FileMode) (Result, error) {
	dest := filepath.Join(dir, name)
	res, err := install(dir, name, data, mode)
	if err != nil {
		return Result{}, fmt.Errorf("install %s: %w", dest, err)
	}
	return res, nil
}

func install(dir, name string, data []byte, mode os.FileMode) (Result, error) {
	sum := sha256.Sum256(data)
	return installFrom(dir, name, bytes.NewReader(data), hex.EncodeToString(sum[:]), mode)
}

// InstallReader makes dir/name hold the bytes r yields, which must have the
// sha256 want (a file of the deploy repo too large to hold in memory, read
// as it streams), with the rules of Install. r is not read when dir/name
// already holds those bytes.
func InstallReader(dir, name string, r io.Reader, want string, mode os.FileMode) (Result, error) {
	dest := filepath.Join(dir, name)
	want, err := parseDigest(want)
	if err != nil {
		return Result{}, fmt.Errorf("install %s: %w", dest, err)
	}
	res, err := installFrom(dir, name, r, want, mode)
	if err != nil {
		return Result{}, fmt.Errorf("install %s: %w", dest, err)
	}
	return res, nil
}

func installFrom(dir, name string, r io.Reader, want string, mode os.FileMode) (Result, error) {
	if err := checkName(name); err != nil {
		return Result{}, err
	}
	dest := filepath.Join(dir, name)
	if found, size, err := checkExisting(dest, want); err != nil || found {
		return Result{Path: dest, SHA256: want, Size: size, Reused: found}, err
	}
	p, err := createTemp(dir, name)
	if err != nil {
		return Result{}, err
	}
	defer p.discard()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(p.f, h), struct{ io.Reader }{r}, make([]byte, bufSize))
	if err != nil {
		return Result{}, diskErr(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return Result{}, fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, got, want)
	}
	if err := place(p, dest, want, mode); err != nil {
		return Result{}, err
	}
	return Result{Path: dest, SHA256: want, Size: n}, nil
}

// checkExisting reports whether dest already holds the digest want. A file
// with another digest is an ErrImmutable error.
func checkExisting(dest, want string) (found bool, size int64, err error) {
	got, size, err := HashFile(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(dest); lerr == nil { // a dangling symlink, say
			return false, 0, fmt.Errorf("%s exists but cannot be opened: %w", dest, err)
		}
		return false, 0, nil
	case err != nil:
		return false, 0, fmt.Errorf("check existing file: %w", err)
	case got != want:
		return false, 0, fmt.Errorf("%w: existing file has sha256 %s, want %s", ErrImmutable, got, want)
	}
	return true, size, nil
}

// place commits a verified temp file to dest without replacing anything. If
// dest appeared in the meantime, it is fine when it holds the same bytes.
func place(p *pending, dest, want string, mode os.FileMode) error {
	err := p.commit(dest, mode, false)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	found, _, cerr := checkExisting(dest, want)
	if cerr != nil {
		return cerr
	}
	if !found {
		return err
	}
	return nil
}
