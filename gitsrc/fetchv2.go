package gitsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/storage"
)

// The depth-1 fetch in protocol v2: ls-refs asks for the followed ref alone
// (go-git v5's fetch receives every ref first), then the fetch command asks
// for it at depth 1, with the cache's shallow commits and ref tips as go-git
// sends them, so that objects the cache holds are not sent again. Over HTTP
// these are two POSTs (the capabilities are known from the polls), over SSH
// and file:// two commands on one connection. The pack is stored by
// go-git's own code, as its fetch stores it.

// errV0: the server speaks protocol v0, so go-git fetches.
var errV0 = errors.New("server speaks protocol v0")

// v2conn runs protocol v2 commands.
type v2conn interface {
	// lsRefs lists the refs under prefixes; errV0 from a v0 server.
	lsRefs(ctx context.Context, prefixes []string) (map[string]plumbing.Hash, error)
	// command sends a command and returns its answer, to be read before
	// the next call.
	command(ctx context.Context, req []byte) (io.Reader, error)
	serverCaps() caps
	close()
}

// fetchV2 fetches the followed ref name at depth (at least 1) into repo in protocol
// v2 and points the local ref at what it fetched. Before anything is
// written it may return errV0 or an error wrapping errDoubt: go-git then
// fetches. After a failure once objects were coming, go-git fetches for
// this Source from then on (the re-clone that follows included).
func (s *Source) fetchV2(ctx context.Context, repo *git.Repository, name plumbing.ReferenceName, depth int) error {
	switch {
	case s.v2Failed:
		return errDoubt
	case s.v0:
		return errV0
	}
	c, err := s.openV2(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	refs, err := c.lsRefs(ctx, []string{name.String()})
	if err != nil {
		return err
	}
	want, ok := refs[name.String()]
	if !ok {
		return fmt.Errorf("%w: no %s", ErrRefNotFound, name)
	}
	if repo.Storer.HasEncodedObject(want) != nil { // not here yet
		if err := fetchPack(ctx, c, repo.Storer, want, depth); err != nil {
			// Only a failure not of the network (an answer not understood)
			// hands the fetches to go-git for good.
			s.v2Failed = ctx.Err() == nil && classify(err) == nil
			return err
		}
	}
	return repo.Storer.SetReference(plumbing.NewHashReference(name, want))
}

// openV2 returns a v2 connection to the Source's server: over HTTP, the
// client the polls use; over SSH and file://, a new upload-pack.
func (s *Source) openV2(ctx context.Context) (v2conn, error) {
	if err := s.initHTTP(); err != nil {
		return nil, err
	}
	if s.http != nil {
		return &httpConn{h: s.http}, nil
	}
	u, err := s.startUpload(ctx)
	if err != nil {
		return nil, err
	}
	c, _, err := openStream(u)
	switch {
	case err != nil:
		return nil, err
	case c == nil:
		return nil, errV0
	}
	return c, nil
}

// fetchPack sends the fetch command for want and stores the pack and the
// shallow commits of the answer.
func fetchPack(ctx context.Context, c v2conn, st storage.Storer, want plumbing.Hash, depth int) error {
	shallows, err := st.Shallow()
	if err != nil {
		return fmt.Errorf("read shallow commits of the cache: %w", err)
	}
	r, err := c.command(ctx, fetchRequest(c.serverCaps(), want, haves(st), shallows, depth))
	if err != nil {
		return err
	}
	shallow, unshallow, err := readFetch(r, st)
	if err != nil {
		return err
	}
	next := slices.DeleteFunc(append(shallows, shallow...), func(h plumbing.Hash) bool { return slices.Contains(unshallow, h) })
	slices.SortFunc(next, func(a, b plumbing.Hash) int { return strings.Compare(a.String(), b.String()) })
	return st.SetShallow(slices.Compact(next))
}

// haves returns the commits the cache's refs point to, as go-git's
// depth-1 fetch sends them.
func haves(st storage.Storer) []plumbing.Hash {
	var out []plumbing.Hash
	iter, err := st.IterReferences()
	if err != nil {
		return nil
	}
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		if r.Type() == plumbing.HashReference && st.HasEncodedObject(r.Hash()) == nil && !slices.Contains(out, r.Hash()) {
			out = append(out, r.Hash())
		}
		return nil
	})
	return out
}

// fetchRequest encodes a fetch command for want at depth (1 for the
// polls; a writer may ask for more history), without
// progress, in a pack that may use offset deltas (go-git reads them) but
// is not thin (its bases are in the pack).
func fetchRequest(server caps, want plumbing.Hash, haves, shallows []plumbing.Hash, depth int) []byte {
	var b bytes.Buffer
	e := pktline.NewEncoder(&b)
	_ = e.EncodeString("command=fetch\n", "agent="+capability.DefaultAgent()+"\n")
	if f, ok := server["object-format"]; ok {
		_ = e.EncodeString("object-format=" + f + "\n")
	}
	b.WriteString("0001")
	_ = e.EncodeString("no-progress\n", "ofs-delta\n", fmt.Sprintf("deepen %d\n", depth))
	for _, h := range shallows {
		_ = e.EncodeString("shallow " + h.String() + "\n")
	}
	_ = e.EncodeString("want " + want.String() + "\n")
	for _, h := range haves {
		_ = e.EncodeString("have " + h.String() + "\n")
	}
	_ = e.EncodeString("done\n")
	_ = e.Flush()
	return b.Bytes()
}

// readFetch reads a fetch answer: its sections up to the packfile, whose
// pack it stores in st. It returns the shallow-info section's lists.
func readFetch(r io.Reader, st storage.Storer) (shallow, unshallow []plumbing.Hash, err error) {
	p := &pktReader{r: r}
	for n := 0; ; n++ {
		header, kind, err := p.line()
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("read fetch answer: %w", err)
		case n >= maxSections:
			return nil, nil, fmt.Errorf("read fetch answer: %w: more than %d sections", errTooLarge, maxSections)
		case kind != pktData:
			return nil, nil, errors.New("read fetch answer: no packfile section")
		case header == "packfile":
			if err := packfile.UpdateObjectStorage(st, &sideband{p: p}); err != nil {
				return nil, nil, fmt.Errorf("store fetched pack: %w", err)
			}
			return shallow, unshallow, nil
		}
		lines, err := readSection(p)
		if err != nil {
			return nil, nil, fmt.Errorf("read fetch answer, %s: %w", header, err)
		}
		if header != "shallow-info" {
			continue // acknowledgments, wanted-refs, packfile-uris: not asked for
		}
		for _, l := range lines {
			kind, hash, _ := strings.Cut(l, " ")
			switch {
			case !isFullHash(hash):
				return nil, nil, fmt.Errorf("read fetch answer: bad shallow-info line %q", l)
			case kind == "shallow":
				shallow = append(shallow, plumbing.NewHash(hash))
			case kind == "unshallow":
				unshallow = append(unshallow, plumbing.NewHash(hash))
			}
		}
	}
}

// readSection returns the lines of a section up to its delimiter.
func readSection(p *pktReader) ([]string, error) {
	var lines []string
	for {
		line, kind, err := p.line()
		switch {
		case err != nil:
			return nil, err
		case kind == pktDelim:
			return lines, nil
		case kind != pktData:
			return nil, errors.New("section not ended by a delimiter")
		case len(lines) >= maxSectionLines:
			return nil, fmt.Errorf("%w: more than %d lines", errTooLarge, maxSectionLines)
		}
		lines = append(lines, line)
	}
}

// sideband reads the pack data (band 1) of the packfile section up to its
// flush; progress (band 2) is dropped and an error (band 3) ends it.
type sideband struct {
	p    *pktReader
	rest []byte
	done bool
}

func (s *sideband) Read(b []byte) (int, error) {
	for len(s.rest) == 0 {
		if s.done {
			return 0, io.EOF
		}
		kind, data, err := s.p.next()
		switch {
		case err != nil:
			return 0, err
		case kind == pktFlush || kind == pktEnd:
			s.done = true
			continue
		case kind != pktData || len(data) == 0:
			return 0, errors.New("unexpected packet in the packfile section")
		}
		switch data[0] {
		case 1:
			s.rest = data[1:]
		case 2:
		case 3:
			return 0, fmt.Errorf("server: %s", strings.TrimSpace(string(data[1:])))
		default:
			return 0, fmt.Errorf("bad sideband channel %d", data[0])
		}
	}
	n := copy(b, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}
