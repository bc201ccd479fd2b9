package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// maxSymlinkHops bounds the symlinks followed for one path, as the kernel's
// ELOOP does, so that a link cycle in a hostile repo ends.
const maxSymlinkHops = 8

// maxLinkTarget bounds a symlink's target (PATH_MAX).
const maxLinkTarget = 4096

// ReadFile returns the content of the repo-relative path at commit rev (a
// hash Fetch returned), read from the cache's object store; no worktree is
// involved and nothing is written.
//
// path is untrusted: it must pass CheckPath. Symlinks, of the file and of
// the directories on the way, are followed (at most 8) as long as each
// target, taken relative to the link's directory, stays inside the repo; a
// target that is absolute or climbs above the root gives ErrPathEscapes. A
// directory, a submodule, or a file larger than Options.MaxFileSize is an
// error (the last wraps ErrFileTooLarge); a missing file wraps
// ErrFileNotFound.
func (s *Source) ReadFile(ctx context.Context, rev, path string) ([]byte, error) {
	blob, op, err := s.findBlob(ctx, rev, path)
	if err != nil {
		return nil, err
	}
	data, err := readBlob(blob, s.maxSize)
	if err != nil {
		s.distrust = s.distrust || !errors.Is(err, ErrFileTooLarge)
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return data, nil
}

// OpenFile opens the repo-relative path at commit rev for streaming, with
// the rules of ReadFile, and returns its size. It is for files too large to
// hold in memory (a binary committed to the deploy repo): a blob larger
// than Options.MaxStreamSize is refused (ErrFileTooLarge), and a large blob
// is read from the pack as it is decompressed, never whole.
func (s *Source) OpenFile(ctx context.Context, rev, path string) (io.ReadCloser, int64, error) {
	blob, op, err := s.findBlob(ctx, rev, path)
	if err != nil {
		return nil, 0, err
	}
	if blob.Size > s.maxStream {
		return nil, 0, fmt.Errorf("%s: %d bytes, more than %d: %w", op, blob.Size, s.maxStream, ErrFileTooLarge)
	}
	r, err := blob.Reader()
	if err != nil {
		s.distrust = true
		return nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	return &blobReader{r: r, op: op, left: blob.Size}, blob.Size, nil
}

// blobReader reads exactly a blob's announced size and names the file in
// its errors.
type blobReader struct {
	r    io.ReadCloser
	op   string
	left int64
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if errors.Is(err, io.EOF) && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s: %w", b.op, err)
	}
	return n, err
}

func (b *blobReader) Close() error { return b.r.Close() }

// findBlob resolves a checked path at a fetched commit to its blob, and
// returns the description of the read for errors.
func (s *Source) findBlob(ctx context.Context, rev, path string) (*object.Blob, string, error) {
	if err := CheckPath(path); err != nil {
		return nil, "", err
	}
	if !isFullHash(rev) {
		return nil, "", fmt.Errorf("read %q at %q: not a 40-hex commit hash", path, rev)
	}
	op := fmt.Sprintf("read %q at %s of %s", path, gitrev.Short(rev), s.logURL)
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	repo := s.openCache()
	if repo == nil {
		return nil, "", fmt.Errorf("%s: no git cache yet (Fetch first)", op)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(rev))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, "", fmt.Errorf("%s: commit not in the git cache (Fetch it first): %w", op, err)
	}
	if err != nil {
		s.distrust = true
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	root, err := commit.Tree()
	if err != nil {
		s.distrust = true
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	w := &walk{ctx: ctx, repo: repo, op: op, dirs: []*object.Tree{root}}
	blob, err := w.find(splitPath(path))
	if err != nil {
		s.distrust = s.distrust || w.storeFailed
		return nil, "", err
	}
	return blob, op, nil
}

// walk resolves a path in a commit's tree the way the kernel resolves one in
// a checkout, with the repo root as the filesystem root that may not be left.
type walk struct {
	ctx         context.Context
	repo        *git.Repository
	op          string         // error prefix
	dirs        []*object.Tree // the real directories from the root down
	names       []string       // their names, for messages
	hops        int            // symlinks followed so far
	link        string         // the last symlink followed, quoted
	target      string         // and its target
	storeFailed bool           // an object could not be read: cache in doubt
}

// find follows the elements of a checked path to a regular file's blob.
func (w *walk) find(pending []string) (*object.Blob, error) {
	for len(pending) > 0 {
		if err := w.ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", w.op, err)
		}
		el := pending[0]
		pending = pending[1:]
		if el == ".." { // only from a symlink target: CheckPath refuses it
			if len(w.dirs) == 1 {
				return nil, fmt.Errorf("%s: symlink %s -> %q climbs above the repo root: %w", w.op, w.link, w.target, ErrPathEscapes)
			}
			w.dirs, w.names = w.dirs[:len(w.dirs)-1], w.names[:len(w.names)-1]
			continue
		}
		entry, ok := findEntry(w.dirs[len(w.dirs)-1], el)
		if !ok && w.hops == 0 {
			return nil, fmt.Errorf("%s: %w", w.op, ErrFileNotFound)
		}
		if !ok {
			return nil, fmt.Errorf("%s: %s (via symlink %s): %w", w.op, w.where(el), w.link, ErrFileNotFound)
		}
		switch {
		case entry.Mode == filemode.Dir:
			if err := w.enter(entry); err != nil {
				return nil, err
			}
		case entry.Mode == filemode.Symlink:
			more, err := w.follow(entry)
			if err != nil {
				return nil, err
			}
			pending = append(more, pending...)
		case entry.Mode == filemode.Submodule:
			return nil, fmt.Errorf("%s: %s is a submodule (gitlink), not a file", w.op, w.where(el))
		case entry.Mode.IsFile():
			if len(pending) > 0 {
				return nil, fmt.Errorf("%s: %s is a file, not a directory: %w", w.op, w.where(el), ErrFileNotFound)
			}
			return w.blob(entry)
		default:
			return nil, fmt.Errorf("%s: %s has unsupported mode %s", w.op, w.where(el), entry.Mode)
		}
	}
	return nil, fmt.Errorf("%s: %s is a directory, not a file", w.op, w.where(""))
}

// enter descends into the directory entry.
func (w *walk) enter(entry object.TreeEntry) error {
	tree, err := w.repo.TreeObject(entry.Hash)
	if err != nil {
		w.storeFailed = true
		return fmt.Errorf("%s: read directory %s: %w", w.op, w.where(entry.Name), err)
	}
	w.dirs = append(w.dirs, tree)
	w.names = append(w.names, entry.Name)
	return nil
}

// follow reads the symlink entry and returns its target's elements, to be
// resolved from the link's directory (the current one).
func (w *walk) follow(entry object.TreeEntry) ([]string, error) {
	link := w.where(entry.Name)
	if w.hops++; w.hops > maxSymlinkHops {
		return nil, fmt.Errorf("%s: more than %d symlinks (a loop?) at %s", w.op, maxSymlinkHops, link)
	}
	blob, err := w.repo.BlobObject(entry.Hash)
	if err != nil {
		w.storeFailed = true
		return nil, fmt.Errorf("%s: read symlink %s: %w", w.op, link, err)
	}
	raw, err := readBlob(blob, maxLinkTarget)
	if err != nil {
		return nil, fmt.Errorf("%s: read symlink %s: %w", w.op, link, err)
	}
	target := string(raw)
	switch {
	case target == "" || strings.ContainsRune(target, 0):
		return nil, fmt.Errorf("%s: symlink %s has an invalid target %q", w.op, link, target)
	case strings.HasPrefix(target, "/"):
		return nil, fmt.Errorf("%s: symlink %s -> %q is absolute: %w", w.op, link, target, ErrPathEscapes)
	}
	w.link, w.target = link, target
	var els []string
	for _, el := range strings.Split(target, "/") {
		if el != "" && el != "." {
			els = append(els, el)
		}
	}
	return els, nil
}

// blob returns the regular file entry's blob.
func (w *walk) blob(entry object.TreeEntry) (*object.Blob, error) {
	blob, err := w.repo.BlobObject(entry.Hash)
	if err != nil {
		w.storeFailed = true
		return nil, fmt.Errorf("%s: %w", w.op, err)
	}
	return blob, nil
}

// where names the element el of the current directory, repo-relative.
func (w *walk) where(el string) string {
	p := strings.Join(append(append([]string(nil), w.names...), el), "/")
	if p = strings.Trim(p, "/"); p == "" {
		return "the repo root"
	}
	return fmt.Sprintf("%q", p)
}

func findEntry(t *object.Tree, name string) (object.TreeEntry, bool) {
	for _, e := range t.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return object.TreeEntry{}, false
}

// readBlob reads the whole blob, refusing one larger than max bytes before
// reading and while reading.
func readBlob(b *object.Blob, max int64) ([]byte, error) {
	if b.Size > max {
		return nil, fmt.Errorf("%d bytes, more than %d: %w", b.Size, max, ErrFileTooLarge)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("more than %d bytes: %w", max, ErrFileTooLarge)
	}
	return data, nil
}
