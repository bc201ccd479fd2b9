package reconcile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"github.com/reconciler-dev/reconciler/internal/agecfg"
)

// countingDecrypter is the real age decrypter, counted.
type countingDecrypter struct {
	agecfg.Decrypter
	calls atomic.Int64
}

func (d *countingDecrypter) Decrypt(data []byte) ([]byte, error) {
	d.calls.Add(1)
	return d.Decrypter.Decrypt(data)
}

// ageRig is a gitRig whose engine decrypts with a real age identity; it
// returns the recipient to encrypt for.
func ageRig(t *testing.T) (*gitRig, *countingDecrypter, age.Recipient) {
	r := newGitRig(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "identity")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dec := &countingDecrypter{Decrypter: agecfg.Decrypter{IdentityFile: idFile}}
	r.e.Decrypter = dec
	return r, dec, id.Recipient()
}

func encrypt(t *testing.T, to age.Recipient, plain string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, to)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(plain))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestNoChangePollReadsNoBlob: a committed binary (bin.path) is hashed,
// and an age config decrypted, once per revision: the no-change polls
// after the first pass read neither through the Repo seam (git blobs of
// a commit never change). A new revision reads them again, and a cached
// digest still guards the release on disk.
func TestNoChangePollReadsNoBlob(t *testing.T) {
	r, dec, to := ageRig(t)
	bin := bytes.Repeat([]byte("#!/bin/sh\n# padding\n"), 50_000) // 1 MB
	commit := func(v string) string {
		r.git.WriteFile("bin/app", append([]byte("#!/bin/sh\necho "+v+"\n"), bin...))
		r.git.WriteFile("web/cfg.age", encrypt(t, to, "version = "+v+"\n"))
		r.git.WriteFile("current.conf", []byte(fmt.Sprintf(`{"version": %q, "bin": {"path": "bin/app"}, "cfg": {"path": "web/cfg.age"}}`, v)))
		return r.git.Commit("version " + v)
	}
	commit("1.0")
	if out, err := r.e.Sync(t.Context()); err != nil || out.Result != PollApplied {
		t.Fatalf("first pass: %q, %v; want applied", out.Result, err)
	}
	reads, bytesRead, decrypts := r.repo.reads.Load(), r.repo.bytesRead.Load(), dec.calls.Load()
	if bytesRead < int64(len(bin)) || decrypts == 0 {
		t.Fatalf("first pass read %d bytes and decrypted %d times: want the binary hashed and the config decrypted", bytesRead, decrypts)
	}
	for range 3 {
		if out, err := r.e.Sync(t.Context()); err != nil || out.Result != PollUnchanged {
			t.Fatalf("no-change poll: %q, %v; want unchanged", out.Result, err)
		}
	}
	// The desired file itself is read each poll (a few hundred bytes).
	if got := r.repo.reads.Load() - reads; got != 3 {
		t.Errorf("3 no-change polls made %d reads through the Repo seam, want 3 (current.conf only)", got)
	}
	if got := r.repo.bytesRead.Load() - bytesRead; got != 0 {
		t.Errorf("3 no-change polls streamed %d bytes of the committed binary, want 0", got)
	}
	if got := dec.calls.Load() - decrypts; got != 0 {
		t.Errorf("3 no-change polls decrypted the config %d times, want 0", got)
	}

	commit("2.0")
	if out, err := r.e.Sync(t.Context()); err != nil || out.Result != PollApplied {
		t.Fatalf("pass of 2.0: %q, %v; want applied", out.Result, err)
	}
	if r.repo.bytesRead.Load() == bytesRead || dec.calls.Load() == decrypts {
		t.Errorf("a new revision was not read: the cache must be per revision")
	}
	got, err := os.ReadFile(r.l.cfgFile("2.0"))
	if err != nil || string(got) != "version = 2.0\n" {
		t.Errorf("release/cfg.2.0: %q, %v; want the plaintext of 2.0", got, err)
	}
}

// TestBlobCacheBounds: at most maxBlobEntries entries, the oldest dropped
// first; a plaintext above maxCachedPlain and a failure are not kept.
func TestBlobCacheBounds(t *testing.T) {
	var c blobCache
	calls := 0
	plain := func(n int, err error) func() ([]byte, error) {
		return func() ([]byte, error) { calls++; return make([]byte, n), err }
	}
	for i := range maxBlobEntries + 1 {
		c.repoPlain(fmt.Sprint(i), "cfg.age", plain(10, nil))
	}
	if len(c.entries) != maxBlobEntries || len(c.order) != maxBlobEntries {
		t.Errorf("%d entries (%d in order), want %d", len(c.entries), len(c.order), maxBlobEntries)
	}
	calls = 0
	c.repoPlain("0", "cfg.age", plain(10, nil))             // dropped: read again
	c.repoPlain(fmt.Sprint(maxBlobEntries), "cfg.age", nil) // the newest: kept
	if calls != 1 {
		t.Errorf("%d reads, want 1: the oldest entry dropped, the newest kept", calls)
	}
	calls = 0
	for range 2 {
		c.repoPlain("big", "cfg.age", plain(maxCachedPlain+1, nil))
		c.repoPlain("bad", "cfg.age", plain(0, errFakeDecrypt))
	}
	if calls != 4 {
		t.Errorf("%d reads, want 4: neither a large plaintext nor a failure is kept", calls)
	}
}
