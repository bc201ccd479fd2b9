package gitsrc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

var verdicts = []error{gitsrc.ErrUnsigned, gitsrc.ErrUntrustedKey, gitsrc.ErrBadSignature}

// TestVerifyCommit signs the deploy repo's head in each way, fetches it
// over file:// into a depth-1 cache on disk, and verifies it.
func TestVerifyCommit(t *testing.T) {
	t.Parallel()
	alice, mallory := newPGPKey(t, "Alice"), newPGPKey(t, "Mallory")
	lastYear := &packet.Config{ // a key valid for an hour, a year ago
		Algorithm: packet.PubKeyAlgoEdDSA, KeyLifetimeSecs: 3600,
		Time: func() time.Time { return time.Now().AddDate(-1, 0, 0) },
	}
	expired := newPGPKeyWith(t, "Expired", lastYear)
	sshAlice, aliceLine := newSSHKey(t)
	sshMallory, _ := newSSHKey(t)
	sshCI, ciLine := newSSHKey(t)
	sshOld, oldLine := newSSHKey(t)
	keyring := armoredKeyring(t, alice)
	signers := []byte("# deploy signers\nalice@example.com " + aliceLine + "\n" +
		`ci namespaces="file" ` + ciLine + "\n" +
		`old valid-before="20200101Z" ` + oldLine + "\n")
	var (
		pgpOnly = gitsrc.Trust{Keyring: keyring}
		sshOnly = gitsrc.Trust{AllowedSigners: signers}
		both    = gitsrc.Trust{Keyring: keyring, AllowedSigners: signers}
	)
	aliceFpr := fmt.Sprintf("%X", alice.PrimaryKey.Fingerprint)
	aliceSSHFpr := ssh.FingerprintSHA256(sshAlice.PublicKey())

	tests := []struct {
		name    string
		commit  func(t *testing.T, r *gittest.Repo)
		trust   gitsrc.Trust
		wantErr error    // nil: trusted
		want    []string // substrings of the signer, or of the error
	}{
		{
			name:   "OpenPGP, trusted key",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), alice, nil) },
			trust:  pgpOnly, want: []string{aliceFpr, "Alice <alice@example.com>"},
		},
		{
			name:   "OpenPGP, key in the keyring's second armored block",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), alice, nil) },
			trust:  gitsrc.Trust{Keyring: append(armoredKeyring(t, mallory), armoredKeyring(t, alice)...)},
			want:   []string{aliceFpr},
		},
		{
			name:   "OpenPGP, other key",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), mallory, nil) },
			trust:  both, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{fmt.Sprintf("%X", mallory.PrimaryKey.Fingerprint), "not in the keyring"},
		},
		{
			name: "OpenPGP, expired key",
			commit: func(t *testing.T, r *gittest.Repo) {
				commitPlumbing(t, r, func(t *testing.T, c *object.Commit) { c.PGPSignature = sign(t, c, pgpSigner{expired, lastYear}) })
			},
			trust: gitsrc.Trust{Keyring: armoredKeyring(t, alice, expired)}, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{"expired"},
		},
		{
			name:   "OpenPGP, signature over other content",
			commit: func(t *testing.T, r *gittest.Repo) { commitTampered(t, r, pgpSigner{alice, nil}) },
			trust:  pgpOnly, wantErr: gitsrc.ErrBadSignature,
		},
		{
			name:   "OpenPGP, only allowed signers configured",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), alice, nil) },
			trust:  sshOnly, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{"OpenPGP-signed", aliceFpr, "--verify-keyring"},
		},
		{
			name:   "unsigned",
			commit: func(t *testing.T, r *gittest.Repo) { r.Commit("unsigned") },
			trust:  both, wantErr: gitsrc.ErrUnsigned,
		},
		{
			name:   "SSH, listed key",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), nil, sshSigner{sshAlice, "git"}) },
			trust:  both, want: []string{"alice@example.com", aliceSSHFpr},
		},
		{
			name:   "SSH, unlisted key",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), nil, sshSigner{sshMallory, "git"}) },
			trust:  both, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{ssh.FingerprintSHA256(sshMallory.PublicKey()), "not listed"},
		},
		{
			name:   "SSH, only a keyring configured",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), nil, sshSigner{sshAlice, "git"}) },
			trust:  pgpOnly, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{"SSH-signed", aliceSSHFpr, "--verify-ssh-allowed-signers"},
		},
		{
			name:   "SSH, key listed for another namespace",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), nil, sshSigner{sshCI, "git"}) },
			trust:  sshOnly, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{`namespaces "file", not "git"`},
		},
		{
			name:   "SSH, signed in another namespace",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), nil, sshSigner{sshAlice, "file"}) },
			trust:  sshOnly, wantErr: gitsrc.ErrBadSignature,
			want: []string{`signed for namespace "file"`},
		},
		{
			name:   "SSH, committed after valid-before",
			commit: func(t *testing.T, r *gittest.Repo) { commitGoGit(t, r, time.Now(), nil, sshSigner{sshOld, "git"}) },
			trust:  sshOnly, wantErr: gitsrc.ErrUntrustedKey,
			want: []string{"valid only before"},
		},
		{
			name: "SSH, committed before valid-before",
			commit: func(t *testing.T, r *gittest.Repo) {
				commitGoGit(t, r, time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC), nil, sshSigner{sshOld, "git"})
			},
			trust: sshOnly, want: []string{"old ("},
		},
		{
			name:   "SSH, signature over other content",
			commit: func(t *testing.T, r *gittest.Repo) { commitTampered(t, r, sshSigner{sshAlice, "git"}) },
			trust:  sshOnly, wantErr: gitsrc.ErrBadSignature,
		},
		{
			name: "two signatures",
			commit: func(t *testing.T, r *gittest.Repo) {
				commitPlumbing(t, r, func(t *testing.T, c *object.Commit) {
					c.PGPSignature = sign(t, c, pgpSigner{alice, nil}) + sign(t, c, sshSigner{sshAlice, "git"})
				})
			},
			trust: both, wantErr: gitsrc.ErrBadSignature, want: []string{"more than one signature"},
		},
		{
			name: "X.509 signature",
			commit: func(t *testing.T, r *gittest.Repo) {
				commitWithSignature(t, r, "-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n-----END SIGNED MESSAGE-----\n")
			},
			trust: both, wantErr: gitsrc.ErrUntrustedKey, want: []string{"X.509"},
		},
		{
			name:   "signature of unknown format",
			commit: func(t *testing.T, r *gittest.Repo) { commitWithSignature(t, r, "trust me\n") },
			trust:  both, wantErr: gitsrc.ErrBadSignature, want: []string{"unknown format"},
		},
		{
			name: "SSH armor around garbage",
			commit: func(t *testing.T, r *gittest.Repo) {
				commitWithSignature(t, r, "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n")
			},
			trust: both, wantErr: gitsrc.ErrBadSignature, want: []string{"does not parse"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := gittestRepo(t)
			tt.commit(t, r)
			s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: cacheDir(t)})
			rev := fetch(t, s, head(t, s))
			signer, err := s.VerifyCommit(t.Context(), rev, tt.trust)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifyCommit: got error %v, want none", err)
				}
				assertContains(t, "signer", signer, tt.want)
				return
			}
			t.Logf("VerifyCommit: %v", err)
			assertVerdict(t, err, tt.wantErr)
			assertContains(t, "error", err.Error(), append([]string{rev[:12]}, tt.want...))
		})
	}
}

// TestVerifyCommitGitCLI: a commit signed by git itself (ssh-keygen -Y sign)
// verifies, and git verify-commit agrees with the allowed-signers file.
// The Source keeps its cache in memory.
func TestVerifyCommitGitCLI(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, line := sshKeyOf(t, priv)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_ed25519")
	writeSSHPrivateKey(t, keyFile, priv)
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(`deployer@example.com namespaces="git" `+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	trust, err := gitsrc.ParseTrust("", allowed)
	if err != nil {
		t.Fatal(err)
	}

	r := gittestRepo(t)
	r.Git("-c", "gpg.format=ssh", "-c", "user.signingkey="+keyFile, "commit", "-q", "--allow-empty", "-S", "-m", "signed by git")
	r.Git("-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "HEAD") // fails the test if git disagrees

	s := newSource(t, gitsrc.Options{URL: r.URL()})
	rev := fetch(t, s, head(t, s))
	got, err := s.VerifyCommit(t.Context(), rev, trust)
	if err != nil {
		t.Fatalf("VerifyCommit: got error %v, want none", err)
	}
	assertContains(t, "signer", got, []string{"deployer@example.com", ssh.FingerprintSHA256(signer.PublicKey())})
}

// TestVerifyCommitNoVerdict: failures that are not about the commit's
// signature wrap none of the verdicts.
func TestVerifyCommitNoVerdict(t *testing.T) {
	t.Parallel()
	r := gittestRepo(t)
	rev := r.Git("rev-parse", "HEAD")
	_, line := newSSHKey(t)
	trust := gitsrc.Trust{AllowedSigners: []byte("a " + line)}
	s := newSource(t, gitsrc.Options{URL: r.URL()})
	steps := []struct {
		name string
		call func() error
	}{ // in order: the first runs before any Fetch
		{"before Fetch", func() error { _, err := s.VerifyCommit(t.Context(), rev, trust); return err }},
		{"bad hash", func() error { _, err := s.VerifyCommit(t.Context(), "HEAD", trust); return err }},
		{"cancelled", func() error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := s.VerifyCommit(ctx, rev, trust)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled: got %v, want context.Canceled", err)
			}
			return err
		}},
		{"no trust", func() error {
			fetch(t, s, rev)
			_, err := s.VerifyCommit(t.Context(), rev, gitsrc.Trust{})
			return err
		}},
	}
	for _, step := range steps {
		name := step.name
		err := step.call()
		if err == nil {
			t.Fatalf("%s: got no error, want one", name)
		}
		for _, v := range verdicts {
			if errors.Is(err, v) {
				t.Errorf("%s: got %v, which wraps %q; want no verdict", name, err, v)
			}
		}
	}
}

func TestParseTrust(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	alice := newPGPKey(t, "Alice")
	_, line := newSSHKey(t)
	var binary bytes.Buffer
	if err := alice.Serialize(&binary); err != nil {
		t.Fatal(err)
	}
	goodKeyring := write("keyring.asc", armoredKeyring(t, alice))
	goodSigners := write("allowed_signers", []byte("alice@example.com "+line+"\n"))
	missing := filepath.Join(dir, "missing")

	trust, err := gitsrc.ParseTrust(goodKeyring, goodSigners)
	if err != nil || !trust.Enabled() || len(trust.Keyring) == 0 || len(trust.AllowedSigners) == 0 {
		t.Fatalf("ParseTrust(good files) = %+v, %v; want both files loaded", trust, err)
	}
	if trust, err := gitsrc.ParseTrust("", ""); err != nil || trust.Enabled() {
		t.Fatalf(`ParseTrust("", "") = %+v, %v; want a disabled Trust`, trust, err)
	}

	tests := []struct {
		name, keyring, signers string
		want                   []string
	}{
		{name: "keyring not armored", keyring: write("binary.gpg", binary.Bytes()), want: []string{"binary.gpg", "no armored OpenPGP public key"}},
		{name: "keyring is an SSH key", keyring: write("id.pub", []byte(line)), want: []string{"id.pub", "no armored"}},
		{name: "keyring corrupt", keyring: write("corrupt.asc", corruptArmor(t, armoredKeyring(t, alice))), want: []string{"corrupt.asc"}},
		{name: "keyring missing", keyring: missing, want: []string{"verify keyring " + missing, "no such file"}},
		{name: "signers with cert-authority", signers: write("ca_signers", []byte("# x\n*@example.com cert-authority "+line+"\n")), want: []string{"ca_signers", "line 2", "cert-authority"}},
		{name: "signers empty", signers: write("empty_signers", nil), want: []string{"empty_signers", "no signers"}},
		{name: "signers is a keyring", keyring: goodKeyring, signers: goodKeyring, want: []string{"allowed signers " + goodKeyring, "line 1"}},
		{name: "signers missing", signers: missing, want: []string{"allowed signers " + missing}},
	}
	for _, tt := range tests {
		_, err := gitsrc.ParseTrust(tt.keyring, tt.signers)
		if err == nil {
			t.Errorf("%s: got no error, want one", tt.name)
			continue
		}
		assertContains(t, tt.name, err.Error(), tt.want)
	}
	if _, err := gitsrc.ParseTrust(missing, ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing keyring: got %v, want fs.ErrNotExist", err)
	}
}

// assertVerdict fails unless err wraps want and no other verdict.
func assertVerdict(t *testing.T, err, want error) {
	t.Helper()
	for _, v := range verdicts {
		if got := errors.Is(err, v); got != (v == want) {
			t.Fatalf("got error %v; errors.Is(err, %q) = %v, want %v", err, v, got, v == want)
		}
	}
}

func assertContains(t *testing.T, what, got string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: got %q, want it to contain %q", what, got, w)
		}
	}
}

// newPGPKey makes an ed25519 OpenPGP key (quick to generate).
func newPGPKey(t *testing.T, name string) *openpgp.Entity {
	t.Helper()
	return newPGPKeyWith(t, name, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
}

func newPGPKeyWith(t *testing.T, name string, cfg *packet.Config) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", strings.ToLower(name)+"@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// armoredKeyring exports the public keys as one armored block.
func armoredKeyring(t *testing.T, keys ...*openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range keys {
		if err := e.Serialize(w); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), '\n')
}

// corruptArmor flips a character in the middle of the armored body, which
// breaks its checksum or its packets.
func corruptArmor(t *testing.T, armored []byte) []byte {
	t.Helper()
	lines := bytes.Split(bytes.Clone(armored), []byte("\n"))
	mid := lines[len(lines)/2]
	if len(mid) < 10 {
		t.Fatalf("armor too short to corrupt: %q", armored)
	}
	mid[5] ^= 'A' ^ 'B'
	return bytes.Join(lines, []byte("\n"))
}

// newSSHKey makes an ed25519 SSH key; line is its "keytype base64" form.
func newSSHKey(t *testing.T) (signer ssh.Signer, line string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sshKeyOf(t, priv)
}

func sshKeyOf(t *testing.T, priv ed25519.PrivateKey) (signer ssh.Signer, line string) {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// writeSSHPrivateKey writes the key in OpenSSH's format, mode 0600
// (ssh-keygen refuses a key others can read).
func writeSSHPrivateKey(t *testing.T, path string, priv ed25519.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pgpSigner signs a commit payload like go-git's SignKey does; cfg may
// set the clock.
type pgpSigner struct {
	key *openpgp.Entity
	cfg *packet.Config
}

func (s pgpSigner) Sign(message io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	err := openpgp.ArmoredDetachSign(&buf, s.key, message, s.cfg)
	return buf.Bytes(), err
}

// sshSigner signs a commit payload like git with gpg.format=ssh does, in
// the given namespace ("git" for git).
type sshSigner struct {
	key       ssh.Signer
	namespace string
}

func (s sshSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.key, sshsig.HashSHA512, s.namespace)
	if err != nil {
		return nil, err
	}
	return sshsig.Armor(sig), nil
}

// commitGoGit commits on main with go-git's worktree, signed with signKey
// (OpenPGP, go-git's own signer) or signer, committed at when.
func commitGoGit(t *testing.T, r *gittest.Repo, when time.Time, signKey *openpgp.Entity, signer git.Signer) {
	t.Helper()
	repo, err := git.PlainOpen(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	who := &object.Signature{Name: "Signer", Email: "signer@example.com", When: when}
	if _, err := wt.Commit("signed", &git.CommitOptions{AllowEmptyCommits: true, Author: who, SignKey: signKey, Signer: signer}); err != nil {
		t.Fatal(err)
	}
}

// commitPlumbing writes, with go-git's plumbing, a commit on main after
// edit has had its way with it (signed it, changed it after signing, ...).
func commitPlumbing(t *testing.T, r *gittest.Repo, edit func(t *testing.T, c *object.Commit)) {
	t.Helper()
	repo, err := git.PlainOpen(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	parent, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	who := object.Signature{Name: "Signer", Email: "signer@example.com", When: time.Now()}
	c := &object.Commit{Author: who, Committer: who, Message: "version 2\n",
		TreeHash: parent.TreeHash, ParentHashes: []plumbing.Hash{parent.Hash}}
	edit(t, c)
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		t.Fatal(err)
	}
	h, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), h)); err != nil {
		t.Fatal(err)
	}
}

// sign returns the signature of the commit's payload, as git computes it.
func sign(t *testing.T, c *object.Commit, signer git.Signer) string {
	t.Helper()
	var payload plumbing.MemoryObject
	if err := c.EncodeWithoutSignature(&payload); err != nil {
		t.Fatal(err)
	}
	rd, err := payload.Reader()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(sig)
}

// commitTampered writes a commit on main whose signature was made over a
// different message.
func commitTampered(t *testing.T, r *gittest.Repo, signer git.Signer) {
	t.Helper()
	commitPlumbing(t, r, func(t *testing.T, c *object.Commit) {
		c.PGPSignature = sign(t, c, signer)
		c.Message = "version 2, not as signed\n"
	})
}

// commitWithSignature writes a commit on main carrying sig as its gpgsig.
func commitWithSignature(t *testing.T, r *gittest.Repo, sig string) {
	t.Helper()
	commitPlumbing(t, r, func(t *testing.T, c *object.Commit) { c.PGPSignature = sig })
}
