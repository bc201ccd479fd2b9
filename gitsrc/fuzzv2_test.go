package gitsrc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/storage/memory"
)

// FuzzV2Answers: the readers of a server's protocol v2 answers (the
// capability advertisement, ls-refs, fetch's sections) never panic, never
// keep more than their bounds, and return a result or an error.
func FuzzV2Answers(f *testing.F) {
	h1, h2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	for _, s := range []string{
		pkt("version 2\n") + pkt("agent=git/2.39\n") + pkt("ls-refs=unborn\n") + pkt("object-format=sha1\n") + "0000",
		pkt(h1+" refs/heads/main\n") + pkt(h2+" refs/tags/v1 peeled:"+h1+"\n") + "0000",
		pkt("unborn HEAD symref-target:refs/heads/main\n") + "0000",
		pkt("# service=git-upload-pack\n") + "0000" + pkt(h1+" HEAD\x00multi_ack\n") + pkt(h1+" refs/heads/main\n") + "0000",
		pkt("shallow-info\n") + pkt("shallow "+h1+"\n") + pkt("unshallow "+h2+"\n") + "0001" + pkt("packfile\n") + pkt("\x02progress\n") + pkt("\x03boom\n") + "0000",
		pkt("acknowledgments\n") + pkt("NAK\n") + "0001" + pkt("packfile\n") + pkt("\x01PACK") + "0000",
		"0000", "0001", "0002", "zzzz", "0004", pkt("ERR access denied\n"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if adv, err := readAdvertisement(bytes.NewReader(in)); err == nil && adv.v2 != nil && len(adv.v2) > maxCaps {
			t.Fatalf("readAdvertisement kept %d capabilities, bound %d", len(adv.v2), maxCaps)
		}
		if refs, err := readLsRefs(bytes.NewReader(in)); err == nil && len(refs) > 2*maxRefs {
			t.Fatalf("readLsRefs kept %d refs, bound %d (and their peeled tags)", len(refs), maxRefs)
		}
		shallow, unshallow, err := readFetch(bytes.NewReader(in), memory.NewStorage())
		if err == nil && len(shallow)+len(unshallow) > maxSections*maxSectionLines {
			t.Fatalf("readFetch kept %d shallow commits", len(shallow)+len(unshallow))
		}
	})
}
