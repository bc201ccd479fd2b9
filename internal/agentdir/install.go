package agentdir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// Install makes versions/<version>/reconciler hold the bytes r yields,
// which must have the sha256 sum (hex), and records them as installed. A
// file already there with those bytes is kept and r is not read. It is
// atomic (temp file, fsync, rename, fsync dir, as artifacts does): a
// failure (a wrong sha256, a truncated or failed read, ctx ended) leaves
// nothing in place; the error says why (artifacts.ErrDigestMismatch, ...).
//
// A version confirmed with other bytes is refused (artifacts.ErrImmutable:
// a new build needs a new version). A file there with other bytes that is
// not such a confirmed release (a leftover, bytes changed on disk) is
// replaced by the verified one.
func (d *Dir) Install(ctx context.Context, version string, r io.Reader, sum string) (string, error) {
	return d.install(version, sum, func(dir string) error {
		_, err := artifacts.InstallReader(dir, Binary, ctxReader{ctx, r}, sum, 0o755)
		return err
	})
}

// InstallFile is Install from the file at path (a binary already on this
// host, or one the agent file names by path in the deploy repo, checked
// out).
func (d *Dir) InstallFile(ctx context.Context, version, path, sum string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("agent dir: install version %s: %w", version, err)
	}
	defer f.Close()
	return d.Install(ctx, version, f, sum)
}

// Fetch is Install from a URL the agent file gives (http, https, file, or
// a scheme of f.Stores), downloaded and verified by f. A version already
// there with those bytes is not downloaded again.
func (d *Dir) Fetch(ctx context.Context, f *artifacts.Fetcher, version, rawURL, sum string) (string, error) {
	return d.install(version, sum, func(dir string) error {
		_, err := f.Fetch(ctx, rawURL, sum, dir, Binary, 0o755)
		return err
	})
}

// Installed reports whether version is installed with the bytes sum
// (checked by hashing the file), and where.
func (d *Dir) Installed(version, sum string) (string, bool) {
	path, err := d.VersionPath(version)
	if err != nil {
		return "", false
	}
	got, err := artifacts.FileSHA256(path)
	return path, err == nil && got == sum
}

func (d *Dir) install(version, sum string, put func(dir string) error) (string, error) {
	path, err := d.VersionPath(version)
	if err != nil {
		return "", err
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("agent dir: install version %s: invalid sha256 %q: want 64 hex digits", version, sum)
	}
	sum = strings.ToLower(sum)
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("agent dir: install version %s: %w", version, err)
	}
	s, err := d.view()
	if err != nil {
		return "", err
	}
	if i := s.confirmedIndex(version); i >= 0 && s.Confirmed[i].SHA256 != sum {
		return fail(fmt.Errorf("%w: version %s was confirmed here with sha256 %s, the agent file pins %s: give the new build a new version",
			artifacts.ErrImmutable, version, s.Confirmed[i].SHA256, sum))
	}
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fail(err)
	}
	if _, err := artifacts.CleanTemp(dir); err != nil {
		return fail(err)
	}
	if got, err := artifacts.FileSHA256(path); err == nil && got != sum {
		if err := os.Remove(path); err != nil { // not a confirmed release: see above
			return fail(err)
		}
	}
	if err := put(dir); err != nil {
		return fail(err)
	}
	err = d.update(func(s *state) error {
		if s.Installed == nil {
			s.Installed = map[string]string{}
		}
		s.Installed[version] = sum
		return nil
	})
	if err != nil {
		return "", err
	}
	return path, nil
}

// ctxReader ends a read when ctx does.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
