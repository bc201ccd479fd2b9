package gitsrc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Git's wire protocol version 2, the part a poll needs: the capability
// advertisement and the ls-refs command with ref-prefix arguments, so that
// the server sends the followed ref alone instead of every ref it has.
// go-git v5 speaks only v0/v1; its pktline encoder writes our requests, and
// its advertisement decoder reads the answer of a server that does not
// speak v2.

// errNotV2 means the server's answer was not protocol v2 where it had to
// be (a POST of ls-refs answered otherwise): the caller forgets what it
// knew and starts again with the full exchange.
var errNotV2 = errors.New("server did not answer in protocol v2")

// Bounds on what a server's answer may hold, so that a broken or hostile
// server cannot make the agent read or keep without end: a pkt-line is at
// most 64 KiB by its length field, these bound how many of them. A poll
// asks for one ref (or, for the hint, the branches and tags), so maxRefs
// is far above any deploy repo's listing.
const (
	maxRefs         = 100_000
	maxCaps         = 1_000
	maxSectionLines = 100_000
	maxSections     = 16 // a fetch answer has at most 5 kinds of section
	// maxAdvertisement bounds a v0 advertisement read by the v2 client (a
	// server that does not speak v2): 10,000 refs are 650 KB, 16 MiB about
	// 250,000.
	maxAdvertisement = 16 << 20
)

// errTooLarge: an answer holds more than a bound above. It is not a doubt
// (errDoubt): go-git's listing, the fallback, reads without a bound.
var errTooLarge = errors.New("answer too large")

// pktKind tells the special packets of v2 apart from data.
type pktKind int

const (
	pktData  pktKind = iota
	pktFlush         // 0000: end of a message
	pktDelim         // 0001: end of a section
	pktEnd           // 0002: response end (stateless connections)
)

// pktReader reads pkt-lines, v2's delimiter and response-end packets
// included (go-git v5's Scanner refuses them). It never reads past the
// packet it returns, so the stream can be handed on (to a sideband
// demultiplexer) after any packet.
type pktReader struct {
	r   io.Reader
	hdr [4]byte
	buf []byte
}

// next returns the next packet; data is valid until the next call. An
// "ERR " packet is returned as an error.
func (p *pktReader) next() (pktKind, []byte, error) {
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.ErrUnexpectedEOF // every message ends with a flush
		}
		return 0, nil, err
	}
	n, err := strconv.ParseUint(string(p.hdr[:]), 16, 16)
	switch {
	case err != nil:
		return 0, nil, fmt.Errorf("bad pkt-line length %q", p.hdr[:])
	case n == 0:
		return pktFlush, nil, nil
	case n == 1:
		return pktDelim, nil, nil
	case n == 2:
		return pktEnd, nil, nil
	case n <= 4:
		return 0, nil, fmt.Errorf("bad pkt-line length %q", p.hdr[:])
	}
	if cap(p.buf) < int(n)-4 {
		p.buf = make([]byte, n-4)
	}
	p.buf = p.buf[:n-4]
	if _, err := io.ReadFull(p.r, p.buf); err != nil {
		return 0, nil, fmt.Errorf("read pkt-line: %w", noEOF(err))
	}
	if msg, ok := bytes.CutPrefix(p.buf, []byte("ERR ")); ok {
		return 0, nil, &pktline.ErrorLine{Text: strings.TrimSpace(string(msg))}
	}
	return pktData, p.buf, nil
}

// line returns the next data packet without its trailing newline, or
// "" and the kind of a special packet.
func (p *pktReader) line() (string, pktKind, error) {
	kind, data, err := p.next()
	if err != nil {
		return "", 0, err
	}
	return strings.TrimSuffix(string(data), "\n"), kind, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// caps is a v2 capability advertisement: capability name -> value
// ("" for a capability without one).
type caps map[string]string

// advertisement is what a server sends first: v2 capabilities, or (a
// server that does not speak v2) the v0 ref advertisement.
type advertisement struct {
	v2 caps
	v0 map[string]plumbing.Hash // name -> hash, peeled tags as "name^{}"
}

func (a *advertisement) v0OrNil() map[string]plumbing.Hash {
	if a == nil {
		return nil
	}
	return a.v0
}

// readAdvertisement reads a server's first message. A v2 server answers
// "version 2" and its capabilities; any other answer is decoded as a v0
// advertisement (over HTTP after the "# service=" line, which go-git's
// decoder skips). An empty repository gives ErrEmptyRemoteRepository, as
// go-git's transports do.
func readAdvertisement(r io.Reader) (*advertisement, error) {
	var head [4 + len("version 2\n")]byte
	n, err := io.ReadFull(r, head[:])
	if err == nil && string(head[4:]) == "version 2\n" && string(head[:4]) == "000e" {
		c, err := readCaps(&pktReader{r: r})
		return &advertisement{v2: c}, err
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	lr := &io.LimitedReader{R: io.MultiReader(bytes.NewReader(head[:n]), r), N: maxAdvertisement}
	refs, err := decodeV0(lr)
	if err != nil && lr.N <= 0 {
		return nil, fmt.Errorf("read ref advertisement: %w: more than %d bytes", errTooLarge, maxAdvertisement)
	}
	return &advertisement{v0: refs}, err
}

// readCaps reads capability lines up to the flush.
func readCaps(p *pktReader) (caps, error) {
	c := caps{}
	for n := 0; ; n++ {
		line, kind, err := p.line()
		switch {
		case err != nil:
			return nil, fmt.Errorf("read capability advertisement: %w", err)
		case kind == pktFlush:
			if _, ok := c["ls-refs"]; !ok {
				return nil, errors.New("read capability advertisement: no ls-refs command")
			}
			return c, nil
		case kind != pktData:
			return nil, errors.New("read capability advertisement: unexpected delimiter")
		}
		if n >= maxCaps {
			return nil, fmt.Errorf("read capability advertisement: %w: more than %d capabilities", errTooLarge, maxCaps)
		}
		name, value, _ := strings.Cut(line, "=")
		c[name] = value
	}
}

// decodeV0 decodes a v0 ref advertisement with go-git's decoder.
func decodeV0(r io.Reader) (map[string]plumbing.Hash, error) {
	ar := packp.NewAdvRefs()
	if err := ar.Decode(r); err != nil {
		if errors.Is(err, packp.ErrEmptyAdvRefs) {
			return nil, errEmptyRepo
		}
		return nil, fmt.Errorf("decode ref advertisement: %w", err)
	}
	if ar.IsEmpty() {
		return nil, errEmptyRepo
	}
	refs := make(map[string]plumbing.Hash, len(ar.References)+len(ar.Peeled))
	for name, h := range ar.References {
		refs[name] = h
	}
	for name, h := range ar.Peeled {
		refs[name+"^{}"] = h
	}
	return refs, nil
}

// errEmptyRepo: the repository has no refs at all.
var errEmptyRepo = transport.ErrEmptyRemoteRepository

// lsRefsRequest encodes an ls-refs command asking for the refs that start
// with one of prefixes, annotated tags peeled. It names the object format
// only if the server advertised one, as git does.
func lsRefsRequest(server caps, prefixes []string) []byte {
	var b bytes.Buffer
	e := pktline.NewEncoder(&b)
	_ = e.EncodeString("command=ls-refs\n", "agent="+capability.DefaultAgent()+"\n")
	if f, ok := server["object-format"]; ok {
		_ = e.EncodeString("object-format=" + f + "\n")
	}
	b.WriteString("0001") // delim-pkt: the arguments follow
	_ = e.EncodeString("peel\n")
	for _, p := range prefixes {
		_ = e.EncodeString("ref-prefix " + p + "\n")
	}
	_ = e.Flush()
	return b.Bytes()
}

// readLsRefs reads an ls-refs answer: "<oid> <name>[ attribute...]" lines
// up to a flush, peeled tags given as the attribute "peeled:<oid>". It
// returns name -> hash, peeled tags under "name^{}" as in v0.
func readLsRefs(r io.Reader) (map[string]plumbing.Hash, error) {
	p := &pktReader{r: r}
	refs := map[string]plumbing.Hash{}
	for n := 0; ; n++ {
		line, kind, err := p.line()
		switch {
		case err != nil:
			return nil, fmt.Errorf("read ls-refs answer: %w", err)
		case kind == pktFlush:
			return refs, nil
		case kind != pktData:
			return nil, errors.New("read ls-refs answer: unexpected delimiter")
		}
		fields := strings.Split(line, " ")
		if len(fields) < 2 || !isHash(fields[0]) {
			return nil, fmt.Errorf("read ls-refs answer: bad line %q", line)
		}
		if n >= maxRefs { // lines, not names: a name may come again
			return nil, fmt.Errorf("read ls-refs answer: %w: more than %d refs", errTooLarge, maxRefs)
		}
		name := fields[1]
		if fields[0] != "unborn" {
			refs[name] = plumbing.NewHash(fields[0])
		}
		for _, attr := range fields[2:] {
			if peeled, ok := strings.CutPrefix(attr, "peeled:"); ok && isHash(peeled) {
				refs[name+"^{}"] = plumbing.NewHash(peeled)
			}
		}
	}
}

// isHash reports a SHA-1 object id in hex (the only object format go-git
// v5 reads), or "unborn", which ls-refs may put in its place for HEAD.
func isHash(s string) bool { return s == "unborn" || isFullHash(s) }

// refPrefixes returns the ls-refs prefixes for the configured ref: the
// full name, or for a short one the branch and the tag of that name. A
// prefix also matches longer names ("refs/heads/main-old"); resolve looks
// up exact names only.
func (s *Source) refPrefixes() []string {
	var out []string
	for _, name := range s.candidates() {
		out = append(out, name.String())
	}
	return out
}

// hintPrefixes are asked for when the followed ref is missing, to name
// the branches and tags there are (refHint).
var hintPrefixes = []string{"refs/heads/", "refs/tags/"}
