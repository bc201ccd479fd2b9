package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Repo is what reconcile needs of the deploy repo (gitsrc.Source).
type Repo interface {
	// Head returns the commit the followed ref points to, cheaply.
	Head(ctx context.Context) (string, error)
	// Fetch makes commit want readable and returns the commit available.
	Fetch(ctx context.Context, want string) (string, error)
	// ReadFile reads a repo file at a commit; paths never leave the repo.
	ReadFile(ctx context.Context, rev, path string) ([]byte, error)
	// OpenFile streams a repo file at a commit (one too large to hold in
	// memory: a binary given by path) and returns its size.
	OpenFile(ctx context.Context, rev, path string) (io.ReadCloser, int64, error)
}

// desiredAt is the desired state as read from the deploy repo at one commit.
type desiredAt struct {
	Rev     string
	Path    string // the desired file in the repo
	Desired Desired
	CfgData []byte // the config when it comes from the repo (cfg.path), decrypted
	// CfgEncrypted: CfgData was decrypted (cfg.path ends in .age); it is
	// never printed, and diff shows digests instead of its text.
	CfgEncrypted bool
	// BinSHA256 is the digest of a binary that comes from the repo
	// (bin.path), computed while streaming it: the binary itself is read
	// again, streamed, when it is installed, and never held in memory.
	BinSHA256 string
	// Wave is this host's place in the file's rollout (nil without one):
	// Desired is then the release it picked, the top-level one or from.
	Wave *Wave
}

// actual is what is on disk now.
type actual struct {
	Conf    *LocalConf // release/current.conf, nil when absent or bad
	ConfErr error      // why an existing current.conf was refused
	// Files holds the state of the release files the desired state names
	// (and of the current config, for the text diff), by base name.
	Files  map[string]fileState
	Links  map[string]string // "app.bin"/"app.cfg" -> link target, "" when absent
	State  State
	CfgOld []byte // content of the current config, when small enough to diff
	// CfgOldSHA256 is the digest of the current config, "" when none: diff
	// shows it for an encrypted config instead of the text.
	CfgOldSHA256 string
	// CfgNew is the desired config's release file, when it is already on
	// disk and small enough to diff (a config from a URL is not
	// downloaded by a dry run).
	CfgNew []byte
	// AppStale: the app process does not run the desired binary (it is
	// down, or still on another release).
	AppStale bool
	AppPID   int
}

// fileState is one release file on disk.
type fileState struct {
	Exists bool
	SHA256 string
	Err    error // the file exists but could not be read
}

// readDesiredAt reads and validates the desired state at rev, including a
// config that comes from the repo, decrypted with dec when it is encrypted:
// nothing touches disk before this passed.
// place picks what this host runs of the file (a rollout's wave or from);
// only what it picks is read further.
func readDesiredAt(ctx context.Context, repo Repo, dec Decrypter, cache *blobCache, rev, path string, place func(Desired) (Desired, *Wave)) (desiredAt, error) {
	data, err := repo.ReadFile(ctx, rev, path)
	if err != nil {
		return desiredAt{}, fmt.Errorf("read desired state: %w", err)
	}
	d, err := ParseDesired(path, data)
	if err != nil {
		return desiredAt{}, err
	}
	d, wave := place(d)
	src := desiredAt{Rev: rev, Path: path, Desired: d, Wave: wave}
	key := "" // the keys of what this host runs, as the file spells them
	if wave != nil && !wave.In {
		key = "rollout.from."
	}
	if d.Bin.FromRepo() {
		src.BinSHA256, err = cache.repoDigest(ctx, repo, rev, d.Bin.Path)
		if err != nil {
			return desiredAt{}, fmt.Errorf("%s: key \"%sbin.path\": %w", path, key, err)
		}
	}
	if d.Cfg != nil && d.Cfg.FromRepo() {
		read := func() ([]byte, error) { return repo.ReadFile(ctx, rev, d.Cfg.Path) }
		if isEncrypted(d.Cfg.Path) {
			src.CfgEncrypted = true
			src.CfgData, err = cache.repoPlain(rev, d.Cfg.Path, func() ([]byte, error) {
				data, err := read()
				if err != nil {
					return nil, err
				}
				return decryptCfg(dec, d.Cfg.Path, data)
			})
		} else {
			src.CfgData, err = read()
		}
		if err != nil {
			return desiredAt{}, fmt.Errorf("%s: key \"%scfg.path\": %w", path, key, err)
		}
	}
	return src, nil
}

// hashRepoFile returns the sha256 of a repo file, streamed.
func hashRepoFile(ctx context.Context, repo Repo, rev, path string) (string, error) {
	r, _, err := repo.OpenFile(ctx, rev, path)
	if err != nil {
		return "", err
	}
	defer r.Close()
	sum, _, err := artifacts.HashReader(r)
	return sum, err
}

// observeActual reads the app directory, with the state the caller loaded.
// It writes nothing.
func (e *Engine) observeActual(src desiredAt, st State) actual {
	l := e.Layout
	act := actual{State: st, Files: map[string]fileState{}, Links: map[string]string{}}
	if c, err := l.ReadLocalConf(); err == nil {
		act.Conf = &c
	} else if !errors.Is(err, os.ErrNotExist) {
		act.ConfErr = err
	}
	names := []string{appdir.BinName(src.Desired.Version)}
	if src.Desired.Cfg != nil {
		names = append(names, appdir.CfgName(src.Desired.Version))
	}
	for _, n := range names {
		act.Files[n] = e.digests.state(filepath.Join(l.Release(), n))
	}
	for _, link := range []string{l.BinLink(), l.CfgLink()} {
		target, _ := os.Readlink(link)
		act.Links[filepath.Base(link)] = target
	}
	if act.Conf != nil && act.Conf.CfgFile != "" {
		act.CfgOld = readSmall(act.Conf.CfgFile, maxDiffSize)
		act.CfgOldSHA256 = e.digests.state(act.Conf.CfgFile).SHA256
	}
	if src.Desired.Cfg != nil && !src.Desired.Cfg.FromRepo() {
		act.CfgNew = readSmall(l.cfgFile(src.Desired.Version), maxDiffSize)
	}
	return act
}

// readSmall returns a file's content, or nil when it is missing or larger
// than limit.
func readSmall(path string, limit int64) []byte {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() > limit {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return data
}

// digestCache remembers file digests by identity (size, mtime, ctime,
// inode), so a poll that changes nothing does not re-hash big binaries.
type digestCache struct {
	m map[string]digestEntry
}

type digestEntry struct {
	key fileKey
	sum string
}

type fileKey struct {
	size, ino    uint64
	mtime, ctime time.Time
}

func (c *digestCache) forget(path string) { delete(c.m, path) }

func (c *digestCache) state(path string) fileState {
	key, err := statKey(path)
	if errors.Is(err, os.ErrNotExist) {
		return fileState{}
	}
	if err != nil {
		return fileState{Exists: true, Err: err}
	}
	if e, ok := c.m[path]; ok && e.key == key {
		return fileState{Exists: true, SHA256: e.sum}
	}
	sum, err := artifacts.FileSHA256(path)
	if err != nil {
		return fileState{Exists: true, Err: err}
	}
	if c.m == nil {
		c.m = map[string]digestEntry{}
	}
	c.m[path] = digestEntry{key: key, sum: sum}
	return fileState{Exists: true, SHA256: sum}
}
