package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/reconciler-dev/reconciler/internal/fsx"
)

// openCache returns the cache repository, opening CacheDir if needed, or nil
// when there is none or it is not a cache of this deploy repo (wrong remote,
// damaged config): the caller then clones afresh.
func (s *Source) openCache() *git.Repository {
	if s.repo != nil || s.dir == "" {
		return s.repo
	}
	repo, err := openBare(s.dir)
	if err != nil {
		return nil
	}
	remote, err := repo.Remote(git.DefaultRemoteName)
	if err != nil || len(remote.Config().URLs) != 1 || remote.Config().URLs[0] != s.logURL {
		return nil
	}
	s.repo, s.fetches = repo, 0
	return repo
}

// openBare opens the on-disk cache, reading blobs above largeObject from
// their pack as they are decompressed.
func openBare(dir string) (*git.Repository, error) {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return nil, err
	}
	return git.Open(bareStorage(dir), nil)
}

// initBare creates an empty bare repository in dir, with the storage
// options of openBare.
func initBare(dir string) (*git.Repository, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return git.Init(bareStorage(dir), nil)
}

func bareStorage(dir string) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{LargeObjectThreshold: largeObject})
}

// tooManyPacks reports that the cache has seen enough fetches to be cloned
// afresh. On disk the pack files are counted, so the bound holds across runs.
func (s *Source) tooManyPacks() bool {
	if s.dir == "" {
		return s.fetches >= maxFetches
	}
	packs, _ := filepath.Glob(filepath.Join(s.dir, "objects", "pack", "*.pack"))
	return len(packs) >= maxFetches
}

// reclone makes a fresh depth-1 bare clone of the followed ref, checks it,
// and only then puts it in place of the old cache. It returns the commit the
// ref points to.
func (s *Source) reclone(ctx context.Context) (string, error) {
	name, err := s.fullRef(ctx)
	if err != nil {
		return "", err
	}
	repo, tmp, err := s.initCache()
	if err != nil {
		return "", err
	}
	got, err := s.fetchInto(ctx, repo, 1)
	if err != nil {
		removeAll(tmp)
		if isDecided(err) {
			return "", err
		}
		return "", fmt.Errorf("clone %s of %s: %w", name, s.logURL, err)
	}
	if s.dir != "" {
		if repo, err = s.install(tmp); err != nil {
			removeAll(tmp)
			s.repo = nil // the old cache may have been moved: reopen next time
			return "", err
		}
	}
	s.repo, s.fetches, s.distrust = repo, 0, false
	return got.String(), nil
}

// initCache creates an empty bare repository whose origin is the deploy repo:
// in memory, or on disk in a temporary directory next to CacheDir.
func (s *Source) initCache() (*git.Repository, string, error) {
	remote := &config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{s.logURL}}
	if s.dir == "" {
		repo, err := git.Init(memory.NewStorage(), nil)
		if err == nil {
			_, err = repo.CreateRemote(remote)
		}
		if err != nil {
			return nil, "", fmt.Errorf("create in-memory git cache: %w", err)
		}
		return repo, "", nil
	}
	tmp := s.dir + ".new"
	if err := os.RemoveAll(tmp); err != nil { // left by an interrupted clone
		return nil, "", fmt.Errorf("create git cache %s: %w", tmp, err)
	}
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return nil, "", fmt.Errorf("create git cache %s: %w", tmp, err)
	}
	repo, err := initBare(tmp)
	if err == nil {
		_, err = repo.CreateRemote(remote)
	}
	if err != nil {
		removeAll(tmp)
		return nil, "", fmt.Errorf("create git cache %s: %w", tmp, err)
	}
	return repo, tmp, nil
}

// install syncs the complete clone in tmp to disk and renames it to
// CacheDir, moving an old cache aside first, then reopens it there. A crash
// at any point leaves either the old cache, the new one, or none (and the
// next Fetch clones).
func (s *Source) install(tmp string) (*git.Repository, error) {
	if err := syncTree(tmp); err != nil {
		return nil, fmt.Errorf("sync git cache %s: %w", tmp, err)
	}
	old := s.dir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return nil, fmt.Errorf("replace git cache %s: %w", s.dir, err)
	}
	if err := s.checkReplaceable(); err != nil {
		return nil, err
	}
	if err := os.Rename(s.dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replace git cache %s: %w", s.dir, err)
	}
	if err := os.Rename(tmp, s.dir); err != nil {
		return nil, fmt.Errorf("replace git cache %s: %w", s.dir, err)
	}
	_ = fsx.SyncDir(filepath.Dir(s.dir))
	removeAll(old)
	repo, err := openBare(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open git cache %s: %w", s.dir, err)
	}
	return repo, nil
}

// checkReplaceable refuses to move aside a CacheDir that holds something
// other than a git repository: a misconfigured cache path must not make the
// reconciler delete someone's files.
func (s *Source) checkReplaceable() error {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("replace git cache %s: %w", s.dir, err)
	}
	for _, e := range entries {
		if e.Name() == "objects" || e.Name() == "HEAD" || e.Name() == "config" || e.Name() == "refs" {
			return nil
		}
	}
	return fmt.Errorf("replace git cache %s: it exists and is not a git repository; not touching it", s.dir)
}

// syncTree fsyncs every file and directory under root, so that a renamed
// clone is complete on disk even after a power loss.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			return fsx.SyncDir(path)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// removeAll removes a temporary directory of ours; "" is the in-memory cache.
// A failure only leaves litter that the next clone removes first.
func removeAll(path string) {
	if strings.HasSuffix(path, ".new") || strings.HasSuffix(path, ".old") {
		_ = os.RemoveAll(path)
	}
}
