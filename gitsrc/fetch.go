package gitsrc

import (
	"context"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// maxFetches bounds the fetches into one cache before it is cloned afresh:
// go-git adds one pack file per fetch and never repacks, so reads and
// fetches slow down as packs pile up (400 fetches: twice as slow). A depth-1 clone of a
// deploy repo costs tens of milliseconds.
const maxFetches = 20

// Fetch makes commit want (a hash from Head) readable from the cache and
// returns the commit the followed ref points to, which the caller should
// read files at.
//
// If want is already in the cache, Fetch does no network I/O and returns
// want. Otherwise it fetches the ref at depth 1 (the first time into a new
// bare clone) and returns the fetched commit: if the ref moved since Head,
// that is not want. want may be "" to just follow the ref.
//
// Every fetch passes Depth 1 and a forced refspec, so rewritten branches are
// followed; afterwards the commit and its tree must be readable. On any doubt
// (corrupt or foreign cache, missing objects, an unknown fetch error, too
// many packs) the cache is replaced by a fresh depth-1 clone, once; the old
// cache stays in place until the new one is complete.
func (s *Source) Fetch(ctx context.Context, want string) (string, error) {
	if want != "" && !isFullHash(want) {
		return "", fmt.Errorf("fetch %s of %s: want %q is not a 40-hex commit hash", s.ref, s.logURL, want)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("fetch %s of %s: %w", s.ref, s.logURL, err)
	}
	repo := s.openCache()
	if repo != nil && !s.distrust && want != "" && commitReadable(repo, plumbing.NewHash(want)) == nil {
		return want, nil
	}
	if repo == nil || s.distrust || s.tooManyPacks() {
		return s.reclone(ctx)
	}
	got, err := s.fetchInto(ctx, repo, 1)
	switch {
	case err == nil:
		return got.String(), nil
	case isDecided(err):
		return "", err
	}
	return s.reclone(ctx) // the cache is in doubt: start afresh, once
}

// fetchInto fetches the followed ref at depth (1 for the polls and the
// cache; a writer's in-memory clone may ask for more) into repo and returns the
// commit it now points to locally, checked readable. It speaks protocol v2
// where the polls do (fetchV2), and lets go-git fetch otherwise.
func (s *Source) fetchInto(ctx context.Context, repo *git.Repository, depth int) (plumbing.Hash, error) {
	name, err := s.fullRef(ctx)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	s.stats.fetches.Add(1)
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err = s.fetchV2(callCtx, repo, name, depth)
	if errors.Is(err, errV0) || (errors.Is(err, errDoubt) && callCtx.Err() == nil) {
		err = repo.FetchContext(callCtx, &git.FetchOptions{
			RemoteName: git.DefaultRemoteName,
			RemoteURL:  s.url, // the stored remote holds the redacted URL only
			RefSpecs:   []config.RefSpec{config.RefSpec("+" + name + ":" + name)},
			Depth:      depth, // never 0: without it, go-git #1443 can leave the ref at a missing commit
			Tags:       git.NoTags,
			Force:      true,
			Auth:       s.auth,
			CABundle:   s.caBundle,
		})
	}
	s.fetches++
	switch {
	case errors.Is(err, git.NoMatchingRefSpecError{}), errors.Is(err, ErrRefNotFound):
		s.forgetRef()
		return plumbing.ZeroHash, fmt.Errorf("fetch %s from %s: %w", name, s.logURL, ErrRefNotFound)
	case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
		return plumbing.ZeroHash, s.remoteErr(ctx, callCtx, "fetch "+name.String()+" from "+s.logURL, err)
	}
	return localCommit(repo, name)
}

// fullRef returns the full name of the followed ref, listing the remote's
// refs if Head has not resolved it yet.
func (s *Source) fullRef(ctx context.Context) (plumbing.ReferenceName, error) {
	if s.full != "" {
		return s.full, nil
	}
	_, name, err := s.resolve(ctx)
	return name, err
}

// forgetRef drops a resolved short name, so the next call looks it up again
// (the branch may be gone while a tag of that name exists).
func (s *Source) forgetRef() {
	if s.full.String() != s.ref {
		s.full = ""
	}
}

// isDecided reports an error that a fresh clone would not cure: the remote
// answered clearly (or not at all), or the caller gave up.
func isDecided(err error) bool {
	for _, target := range []error{ErrRefNotFound, ErrUnreachable, ErrAuth, ErrHostKey, ErrRepoNotFound, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// localCommit returns the commit the local ref name points to, peeling
// annotated tags, after checking that the commit and its tree are readable.
func localCommit(repo *git.Repository, name plumbing.ReferenceName) (plumbing.Hash, error) {
	ref, err := repo.Reference(name, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read cached ref %s: %w", name, err)
	}
	h := ref.Hash()
	for range 8 { // a tag of a tag of ... a commit
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read cached ref %s at %s: %w", name, gitrev.Short(h.String()), err)
		}
		switch o := obj.(type) {
		case *object.Tag:
			h = o.Target
		case *object.Commit:
			if _, err := o.Tree(); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("read tree of %s at %s: %w", name, gitrev.Short(h.String()), err)
			}
			return h, nil
		default:
			return plumbing.ZeroHash, fmt.Errorf("ref %s points to a %s, not a commit", name, obj.Type())
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("ref %s: tags nested too deep", name)
}

// commitReadable returns nil if the commit h and its root tree are in repo.
func commitReadable(repo *git.Repository, h plumbing.Hash) error {
	c, err := repo.CommitObject(h)
	if err != nil {
		return err
	}
	_, err = c.Tree()
	return err
}

// isFullHash reports a full SHA-1 commit hash in lower-case hex, as Head
// returns it.
func isFullHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// short abbreviates a commit hash for messages.
