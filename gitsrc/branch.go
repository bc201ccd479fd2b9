package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// ErrPushRejected: the remote branch is no longer at the commit the new
// one was made on (someone pushed meanwhile). Open the branch again, read
// it again and decide again.
var ErrPushRejected = errors.New("push rejected: the remote branch moved")

// ErrNotBranch: the followed ref is a tag, which a writer cannot move.
var ErrNotBranch = errors.New("not a branch")

// Branch is an in-memory clone of the followed branch, with as much of its
// history as asked for, for a writer (reconciler promote): read a file at
// the head and at older commits, make one commit on top of the head, push
// it. Nothing is written to disk. Open a new Branch for each decision: one
// that was pushed, or whose push was rejected, is spent.
type Branch struct {
	s     *Source
	repo  *git.Repository
	name  plumbing.ReferenceName
	base  plumbing.Hash // the head as fetched: the remote's, when opened
	head  plumbing.Hash // base, or the commit made on it
	depth int
}

// OpenBranch clones the followed branch into memory with depth commits of
// history (0: all of it) and checks the head against trust when trust is
// enabled: a writer must not sign its commit on top of one its readers
// would refuse. A tag gives an error wrapping ErrNotBranch.
func (s *Source) OpenBranch(ctx context.Context, depth int, trust Trust) (*Branch, error) {
	_, name, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if !name.IsBranch() {
		return nil, fmt.Errorf("open %s of %s for writing: %w: %s is a tag", s.ref, s.logURL, ErrNotBranch, name)
	}
	repo, err := git.Init(memory.NewStorage(), nil)
	if err == nil {
		_, err = repo.CreateRemote(&config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{s.logURL}})
	}
	if err != nil {
		return nil, fmt.Errorf("create in-memory clone: %w", err)
	}
	if depth > 0 {
		// as a poll's fetch: protocol v2 where the server speaks it, so
		// that the ref advertisement does not grow with the repo's refs
		if _, err := s.fetchInto(ctx, repo, depth); err != nil {
			return nil, err
		}
	} else if err := s.cloneDepth(ctx, repo, name, depth); err != nil {
		return nil, err
	}
	head, err := localCommit(repo, name)
	if err != nil {
		return nil, err
	}
	b := &Branch{s: s, repo: repo, name: name, base: head, head: head, depth: depth}
	if trust.Enabled() {
		c, err := repo.CommitObject(head)
		if err == nil {
			_, err = trust.verify(c)
		}
		if err != nil {
			return nil, fmt.Errorf("verify commit %s of %s: %w", gitrev.Short(head.String()), s.logURL, err)
		}
	}
	return b, nil
}

// cloneDepth fetches name with all of its history (depth 0) into the
// fresh in-memory repo, through go-git.
func (s *Source) cloneDepth(ctx context.Context, repo *git.Repository, name plumbing.ReferenceName, depth int) error {
	s.stats.fetches.Add(1)
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := repo.FetchContext(callCtx, &git.FetchOptions{
		RemoteName: git.DefaultRemoteName,
		RemoteURL:  s.url,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + name + ":" + name)},
		Depth:      depth, // a fresh clone: go-git #1443 is about fetching into a shallow one
		Tags:       git.NoTags,
		Auth:       s.auth,
		CABundle:   s.caBundle,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return s.remoteErr(ctx, callCtx, "clone "+name.String()+" of "+s.logURL, err)
	}
	return nil
}

// Head is the commit the branch points to: the remote's when opened, the
// new one after Commit.
func (b *Branch) Head() string { return b.head.String() }

// Depth is the history the clone was asked for (0: all).
func (b *Branch) Depth() int { return b.depth }

// Rev is one commit of the branch's history and the file Log reads at it.
type Rev struct {
	Hash string
	// Time is the committer's time: when the commit was made, or rebased.
	Time time.Time
	// Data is the file's content; nil with Err set when it could not be
	// read there (Err wraps ErrFileNotFound when it is missing).
	Data []byte
	Err  error
}

// Log reads path at the head and at each first parent, newest first, and
// hands each to visit until visit returns false or the history ends. It
// returns shallow true when it ended at the clone's depth rather than at
// the first commit: open the branch again with more depth to see further.
func (b *Branch) Log(ctx context.Context, path string, visit func(Rev) bool) (shallow bool, err error) {
	if err := CheckPath(path); err != nil {
		return false, err
	}
	h := b.head
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		c, err := b.repo.CommitObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) && h != b.head {
			return true, nil // the parent of a shallow commit
		}
		if err != nil {
			return false, fmt.Errorf("read commit %s of %s: %w", gitrev.Short(h.String()), b.s.logURL, err)
		}
		rev := Rev{Hash: h.String(), Time: c.Committer.When}
		rev.Data, rev.Err = b.read(ctx, c, path)
		if !visit(rev) || len(c.ParentHashes) == 0 {
			return false, nil
		}
		h = c.ParentHashes[0]
	}
}

// read returns the file at commit c, with ReadFile's rules.
func (b *Branch) read(ctx context.Context, c *object.Commit, path string) ([]byte, error) {
	op := fmt.Sprintf("read %q at %s of %s", path, gitrev.Short(c.Hash.String()), b.s.logURL)
	root, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	w := &walk{ctx: ctx, repo: b.repo, op: op, dirs: []*object.Tree{root}}
	blob, err := w.find(splitPath(path))
	if err != nil {
		return nil, err
	}
	data, err := readBlob(blob, b.s.maxSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return data, nil
}

// Commit makes a commit on top of the head that sets the regular file at
// path (which must exist, reached through no symlink) to data, signed by
// sign unless it is nil, and moves the local branch to it. It returns the
// new commit's hash. Nothing leaves the process until Push.
func (b *Branch) Commit(path string, data []byte, msg string, who object.Signature, sign Signer) (string, error) {
	return b.CommitFiles([]File{{Path: path, Data: data}}, msg, who, sign)
}

// File is a regular file a commit sets.
type File struct {
	Path string
	Data []byte
	// Create allows the file (and the directories on its way) to be new;
	// otherwise it must exist.
	Create bool
}

// CommitFiles is Commit for several files at once, some of which may be
// new (File.Create). An existing file is replaced only when it is a
// regular file reached through no symlink.
func (b *Branch) CommitFiles(files []File, msg string, who object.Signature, sign Signer) (string, error) {
	if b.head != b.base {
		return "", fmt.Errorf("commit on %s: the branch already has a new commit (open it again)", b.name.Short())
	}
	op := fmt.Sprintf("commit on %s of %s", b.name.Short(), b.s.logURL)
	parent, err := b.repo.CommitObject(b.head)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	tree := parent.TreeHash
	for _, f := range files {
		if err := CheckPath(f.Path); err != nil {
			return "", err
		}
		if tree, err = b.setFile(tree, f); err != nil {
			return "", fmt.Errorf("commit %q on %s of %s: %w", f.Path, b.name.Short(), b.s.logURL, err)
		}
	}
	c := &object.Commit{Author: who, Committer: who, Message: msg, TreeHash: tree, ParentHashes: []plumbing.Hash{b.head}}
	if sign != nil {
		if c.PGPSignature, err = signCommit(c, sign); err != nil {
			return "", fmt.Errorf("%s: sign: %w", op, err)
		}
	}
	h, err := b.store(c.Encode)
	if err == nil {
		err = b.repo.Storer.SetReference(plumbing.NewHashReference(b.name, h))
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	b.head = h
	return h.String(), nil
}

// setFile stores f's blob and returns the tree treeHash with f set.
func (b *Branch) setFile(treeHash plumbing.Hash, f File) (plumbing.Hash, error) {
	blob, err := b.store(func(o plumbing.EncodedObject) error {
		o.SetType(plumbing.BlobObject)
		w, err := o.Writer()
		if err != nil {
			return err
		}
		if _, err := w.Write(f.Data); err != nil {
			return err
		}
		return w.Close()
	})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return b.replace(treeHash, splitPath(f.Path), blob, f.Create)
}

// replace returns the hash of the tree treeHash (ZeroHash: an empty one)
// with the file at els set to blob, storing every tree on the way; create
// allows the file and the directories on its way to be new.
func (b *Branch) replace(treeHash plumbing.Hash, els []string, blob plumbing.Hash, create bool) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if treeHash != plumbing.ZeroHash {
		t, err := b.repo.TreeObject(treeHash)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, t.Entries...)
	}
	i := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == els[0] })
	var err error
	switch {
	case i < 0 && !create:
		return plumbing.ZeroHash, fmt.Errorf("%q: %w", els[0], ErrFileNotFound)
	case i < 0 && len(els) > 1:
		sub, err := b.replace(plumbing.ZeroHash, els[1:], blob, create)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: els[0], Mode: filemode.Dir, Hash: sub})
	case i < 0:
		entries = append(entries, object.TreeEntry{Name: els[0], Mode: filemode.Regular, Hash: blob})
	case len(els) > 1 && entries[i].Mode.IsFile():
		return plumbing.ZeroHash, fmt.Errorf("%q is not a directory", els[0])
	case len(els) > 1:
		if entries[i].Hash, err = b.replace(entries[i].Hash, els[1:], blob, create); err != nil {
			return plumbing.ZeroHash, err
		}
	case !entries[i].Mode.IsFile() || !entries[i].Mode.IsRegular():
		return plumbing.ZeroHash, fmt.Errorf("%q is a %s, not a regular file: a writer does not follow symlinks", els[0], entries[i].Mode)
	default:
		entries[i].Hash = blob
	}
	slices.SortFunc(entries, func(x, y object.TreeEntry) int { return strings.Compare(treeKey(x), treeKey(y)) })
	return b.store((&object.Tree{Entries: entries}).Encode)
}

// treeKey is what git sorts tree entries by: the name, with a "/" after
// a directory's.
func treeKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// store encodes an object into the clone's storage.
func (b *Branch) store(encode func(plumbing.EncodedObject) error) (plumbing.Hash, error) {
	o := b.repo.Storer.NewEncodedObject()
	if err := encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	return b.repo.Storer.SetEncodedObject(o)
}

// Push sends the new commit to the remote branch, on condition that the
// branch is still where it was when opened. When it is not (someone pushed
// meanwhile, before or during the push), the error wraps ErrPushRejected:
// that is decided by listing the remote's ref again, not by the wording of
// the refusal.
func (b *Branch) Push(ctx context.Context) error {
	if b.head == b.base {
		return fmt.Errorf("push %s to %s: no new commit", b.name.Short(), b.s.logURL)
	}
	op := fmt.Sprintf("push %s to %s", b.name.Short(), b.s.logURL)
	callCtx, cancel := context.WithTimeout(ctx, b.s.timeout)
	defer cancel()
	err := b.repo.PushContext(callCtx, &git.PushOptions{
		RemoteName:        git.DefaultRemoteName,
		RemoteURL:         b.s.url,
		RefSpecs:          []config.RefSpec{config.RefSpec(b.name + ":" + b.name)},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(b.base.String() + ":" + b.name.String())},
		Auth:              b.s.auth,
		CABundle:          b.s.caBundle,
	})
	if err == nil {
		return nil
	}
	pushErr := b.s.remoteErr(ctx, callCtx, op, err)
	if ctx.Err() != nil {
		return pushErr
	}
	now, _, lerr := b.s.resolve(ctx)
	switch {
	case lerr != nil:
		return pushErr
	case now == b.head: // the push landed after all (the answer was lost)
		return nil
	case now != b.base:
		return fmt.Errorf("%s: %w: now at %s, not %s", op, ErrPushRejected, gitrev.Short(now.String()), gitrev.Short(b.base.String()))
	}
	return pushErr
}

// PushTo sends the new commit to a new branch named branch (a short name,
// refs/heads/ is added) for review, leaving the followed branch as it is.
// A branch of that name that the commit does not extend refuses the push.
func (b *Branch) PushTo(ctx context.Context, branch string) error {
	name := plumbing.NewBranchReferenceName(branch)
	op := fmt.Sprintf("push %s to %s", name.Short(), b.s.logURL)
	switch {
	case b.head == b.base:
		return fmt.Errorf("%s: no new commit", op)
	}
	if err := CheckBranch(branch); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := b.repo.Storer.SetReference(plumbing.NewHashReference(name, b.head)); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, b.s.timeout)
	defer cancel()
	err := b.repo.PushContext(callCtx, &git.PushOptions{
		RemoteName: git.DefaultRemoteName,
		RemoteURL:  b.s.url,
		RefSpecs:   []config.RefSpec{config.RefSpec(name + ":" + name)},
		Auth:       b.s.auth,
		CABundle:   b.s.caBundle,
	})
	if err != nil {
		return b.s.remoteErr(ctx, callCtx, op, err)
	}
	return nil
}

// CheckBranch applies git's rules for ref names to a short branch name, as
// PushTo takes it.
func CheckBranch(branch string) error {
	if strings.HasPrefix(branch, "refs/") || branch == "" {
		return fmt.Errorf("branch %q: give a short branch name, such as bump/web-2.1", branch)
	}
	return checkRef(branch)
}
