package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Head lists the remote's refs once (no objects are transferred) and returns
// the commit hash, 40 hex digits, that the followed ref points to; for an
// annotated tag, the commit it peels to. A missing ref gives an error wrapping
// ErrRefNotFound.
func (s *Source) Head(ctx context.Context) (string, error) {
	h, _, err := s.resolve(ctx)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// resolve lists the remote's refs and returns the hash the followed ref
// points to (peeled) and its full name, which it also remembers for Fetch.
// Over protocol v2 the listing asks for the followed ref only; when it is
// missing, a second request asks for the branches and tags, for the hint.
func (s *Source) resolve(ctx context.Context) (plumbing.Hash, plumbing.ReferenceName, error) {
	s.stats.refListings.Add(1)
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	refs, partial, err := s.listRefs(ctx, callCtx, s.refPrefixes())
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	for _, name := range s.candidates() {
		if h, ok := refs[name.String()+"^{}"]; ok { // annotated tag, peeled
			s.full = name
			return h, name, nil
		}
		if h, ok := refs[name.String()]; ok {
			s.full = name
			return h, name, nil
		}
	}
	if partial {
		if refs, _, err = s.listRefs(ctx, callCtx, hintPrefixes); err != nil {
			return plumbing.ZeroHash, "", err
		}
	}
	return plumbing.ZeroHash, "", fmt.Errorf("find ref %s in %s: %w; %s", s.ref, s.logURL, ErrRefNotFound, refHint(refs))
}

// maxListedRefs is how many names refHint lists before "and N more".
const maxListedRefs = 10

// refHint says which branches the remote has (its tags when it has no
// branch), from the listing already in hand: a repo whose branch is master
// while --ref defaults to main should not need a second look.
func refHint(refs map[string]plumbing.Hash) string {
	kind, names := "branches", refNames(refs, "refs/heads/")
	if len(names) == 0 {
		kind, names = "tags", refNames(refs, "refs/tags/")
	}
	if len(names) == 0 {
		return "the repository has no branches or tags"
	}
	list := strings.Join(names[:min(len(names), maxListedRefs)], ", ")
	if len(names) > maxListedRefs {
		list += fmt.Sprintf(" and %d more", len(names)-maxListedRefs)
	}
	return fmt.Sprintf("the repository's %s are: %s; set --ref to one of them", kind, list)
}

// refNames returns the short names of the refs under prefix, sorted.
func refNames(refs map[string]plumbing.Hash, prefix string) []string {
	var names []string
	for full := range refs {
		if name, ok := strings.CutPrefix(full, prefix); ok && !strings.HasSuffix(name, "^{}") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// candidates returns the full names the configured ref may stand for, in
// order of preference: a branch before a tag of the same name.
func (s *Source) candidates() []plumbing.ReferenceName {
	if strings.HasPrefix(s.ref, "refs/") {
		return []plumbing.ReferenceName{plumbing.ReferenceName(s.ref)}
	}
	return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(s.ref), plumbing.NewTagReferenceName(s.ref)}
}

// listRefs lists the remote's refs under callCtx (derived from ctx with
// the Source's timeout) and returns name -> hash, peeled tags under
// "name^{}". It speaks protocol v2 where it can, asking only for refs under
// prefixes (then partial is true); a v0 server's answer, and go-git's
// listing, hold every ref. On any doubt about a v2 exchange that is not a
// timeout or a failure to connect, it lists with go-git, as before.
func (s *Source) listRefs(ctx, callCtx context.Context, prefixes []string) (refs map[string]plumbing.Hash, partial bool, err error) {
	refs, partial, err = s.listV2(callCtx, prefixes)
	if errors.Is(err, errDoubt) && callCtx.Err() == nil {
		refs, partial, err = s.listGoGit(callCtx)
	}
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return nil, false, fmt.Errorf("find ref %s in %s: %w: the repository has no commits", s.ref, s.logURL, ErrRefNotFound)
	case err != nil:
		return nil, false, s.remoteErr(ctx, callCtx, "list refs of "+s.logURL, err)
	}
	return refs, partial, nil
}

// listV2 lists refs in protocol v2 over HTTP(S), SSH or a local path;
// errDoubt for other transports and for what only go-git handles.
func (s *Source) listV2(ctx context.Context, prefixes []string) (refs map[string]plumbing.Hash, partial bool, err error) {
	defer func() { s.v0 = err == nil && !partial }()
	if err := s.initHTTP(); err != nil {
		return nil, false, err
	}
	if s.http != nil {
		return s.http.listRefs(ctx, prefixes)
	}
	u, err := s.startUpload(ctx)
	if err != nil {
		return nil, false, err
	}
	c, v0, err := openStream(u)
	if c == nil {
		return v0, false, err
	}
	defer c.close()
	refs, err = c.lsRefs(ctx, prefixes)
	return refs, err == nil, err
}

// initHTTP makes the v2 HTTP client once, if the Source is over HTTP.
func (s *Source) initHTTP() error {
	if s.httpChecked {
		return nil
	}
	h, err := newHTTPV2(s.url, s.auth, s.caBundle)
	if err != nil {
		return err
	}
	s.http, s.httpChecked = h, true
	return nil
}

// listGoGit does one v0 ref advertisement with go-git.
func (s *Source) listGoGit(ctx context.Context) (map[string]plumbing.Hash, bool, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{
		Name: git.DefaultRemoteName, URLs: []string{s.url},
	})
	list, err := listWithin(ctx, remote, &git.ListOptions{
		Auth: s.auth, PeelingOption: git.AppendPeeled, CABundle: s.caBundle,
	})
	if err != nil {
		return nil, false, err
	}
	refs := make(map[string]plumbing.Hash, len(list))
	for _, r := range list {
		if r.Type() == plumbing.HashReference {
			refs[r.Name().String()] = r.Hash()
		}
	}
	return refs, false, nil
}

// listWithin runs the ref listing but returns when ctx ends even if go-git
// does not: its SSH transport ignores the context during the handshake, so
// a server that accepts and then says nothing would hang the agent. The
// abandoned call holds only a throwaway in-memory remote; it ends when the
// server closes the connection. (Fetch cannot be abandoned this way, as it
// writes the cache; a poll always lists refs first, which catches a silent
// server.)
func listWithin(ctx context.Context, remote *git.Remote, o *git.ListOptions) ([]*plumbing.Reference, error) {
	type result struct {
		refs []*plumbing.Reference
		err  error
	}
	done := make(chan result, 1)
	go func() {
		refs, err := remote.ListContext(ctx, o)
		done <- result{refs, err}
	}()
	select {
	case r := <-done:
		return r.refs, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
