package gitsrc

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestListV2Local: over file:// and a local path, git-upload-pack speaks
// protocol v2 and answers with the followed ref alone, among 10,000.
func TestListV2Local(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	c := r.Commit("one")
	r.AddRefs("refs/tags/t", 10_000)
	for _, url := range []string{r.URL(), r.Dir} {
		s, err := New(Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		refs, partial, err := s.listV2(t.Context(), s.refPrefixes())
		if err != nil || !partial {
			t.Fatalf("%s: listV2: partial %v, %v; want a v2 answer", url, partial, err)
		}
		if want := (map[string]plumbing.Hash{"refs/heads/main": plumbing.NewHash(c)}); len(refs) != 1 || refs["refs/heads/main"] != want["refs/heads/main"] {
			t.Errorf("%s: got %v, want %v", url, refs, want)
		}
	}
}

// TestReadLsRefs: the answer's lines, peeled tags and the special packets.
func TestReadLsRefs(t *testing.T) {
	h1, h2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	for _, tc := range []struct {
		name, in string
		want     map[string]plumbing.Hash
		wantErr  bool
	}{
		{"branch and peeled tag", pkt(h1+" refs/heads/main\n") + pkt(h2+" refs/tags/v1 peeled:"+h1+"\n") + "0000",
			map[string]plumbing.Hash{"refs/heads/main": plumbing.NewHash(h1), "refs/tags/v1": plumbing.NewHash(h2), "refs/tags/v1^{}": plumbing.NewHash(h1)}, false},
		{"nothing", "0000", map[string]plumbing.Hash{}, false},
		{"no flush", pkt(h1 + " refs/heads/main\n"), nil, true},
		{"error line", pkt("ERR access denied\n"), nil, true},
		{"v0 answer", pkt("# service=git-upload-pack\n") + "0000", nil, true},
		{"short hash", pkt("123 refs/heads/main\n") + "0000", nil, true},
		{"delimiter", "0001", nil, true},
		{"bad length", "zzzz", nil, true},
	} {
		got, err := readLsRefs(bytes.NewReader([]byte(tc.in)))
		if (err != nil) != tc.wantErr || (!tc.wantErr && !maps.Equal(got, tc.want)) {
			t.Errorf("%s: got %v, %v; want %v (error: %v)", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestReadAdvertisement: a v2 server's capabilities, a v0 advertisement,
// and an empty repository.
func TestReadAdvertisement(t *testing.T) {
	h := strings.Repeat("a", 40)
	adv, err := readAdvertisement(strings.NewReader(pkt("version 2\n") + pkt("agent=git/2.39\n") + pkt("ls-refs=unborn\n") + pkt("object-format=sha1\n") + "0000"))
	if err != nil || adv.v2["ls-refs"] != "unborn" || adv.v2["object-format"] != "sha1" {
		t.Errorf("v2: got %+v, %v", adv, err)
	}
	if !bytes.Contains(lsRefsRequest(adv.v2, []string{"refs/heads/main"}), []byte("object-format=sha1\n0001")) {
		t.Errorf("ls-refs request does not name the advertised object format: %q", lsRefsRequest(adv.v2, nil))
	}
	if _, err := readAdvertisement(strings.NewReader(pkt("version 2\n") + pkt("agent=x\n") + "0000")); err == nil {
		t.Errorf("v2 without ls-refs: got no error")
	}
	adv, err = readAdvertisement(strings.NewReader(pkt("# service=git-upload-pack\n") + "0000" + pkt(h+" HEAD\x00multi_ack\n") + pkt(h+" refs/heads/main\n") + "0000"))
	if err != nil || adv.v2 != nil || adv.v0["refs/heads/main"] != plumbing.NewHash(h) {
		t.Errorf("v0: got %+v, %v", adv, err)
	}
	if _, err := readAdvertisement(strings.NewReader("0000")); !errors.Is(err, errEmptyRepo) {
		t.Errorf("empty: got %v, want errEmptyRepo", err)
	}
}

func pkt(s string) string { return fmt.Sprintf("%04x", len(s)+4) + s }

// endlessV0 is a v0 ref advertisement that never ends.
type endlessV0 struct {
	buf []byte
	i   int
}

func (e *endlessV0) Read(p []byte) (int, error) {
	if e.buf == nil {
		e.buf = []byte(pkt("# service=git-upload-pack\n") + "0000" + pkt(strings.Repeat("a", 40)+" HEAD\x00multi_ack\n"))
	}
	for len(e.buf) < len(p) {
		e.i++
		e.buf = append(e.buf, pkt(fmt.Sprintf("%040x refs/heads/b%d\n", e.i, e.i))...)
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

// TestReadAdvertisementBounded: a v0 advertisement without end is refused
// as too large, not read on.
func TestReadAdvertisementBounded(t *testing.T) {
	if _, err := readAdvertisement(&endlessV0{}); !errors.Is(err, errTooLarge) {
		t.Errorf("endless v0 advertisement: got %v, want errTooLarge", err)
	}
}
