package gitsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// The verdicts of VerifyCommit; each of its refusals wraps exactly one.
// All three need a human: re-fetching will not change the commit.
var (
	ErrUnsigned     = errors.New("commit is not signed")
	ErrUntrustedKey = errors.New("commit is signed by a key that is not trusted")
	ErrBadSignature = errors.New("commit signature does not verify")
)

// sshNamespace is the namespace git signs commits in (ssh-keygen -Y sign -n git).
const sshNamespace = "git"

// maxTrustFile bounds a keyring or allowed-signers file read by ParseTrust.
const maxTrustFile = 16 << 20

// Trust says which commit signatures are accepted. The zero value trusts
// nothing and verifies nothing (Enabled is false).
//
// Trust is in keys only, as in git: the signer's OpenPGP user ID or SSH
// principal is reported but never matched against the commit's author or
// committer (git verify-commit does not match them either). Whoever holds a
// listed key may sign any commit.
type Trust struct {
	// Keyring is an armored OpenPGP public keyring (the --verify-keyring
	// file's content); several concatenated armored blocks are allowed.
	Keyring []byte
	// AllowedSigners is git's allowed-signers file for SSH signatures (the
	// --verify-ssh-allowed-signers file's content); see ssh-keygen(1).
	AllowedSigners []byte
}

// ParseTrust reads the OpenPGP keyring and the SSH allowed-signers file
// (either name may be "", not both needed) and checks them now, so a bad
// file is refused at start-up rather than at the first deploy. Errors name
// the file (and, for allowed signers, the line).
func ParseTrust(keyringFile, allowedSignersFile string) (Trust, error) {
	var t Trust
	if keyringFile != "" {
		data, err := readTrustFile(keyringFile)
		if err == nil {
			_, err = readKeyring(data)
		}
		if err != nil {
			return Trust{}, fmt.Errorf("verify keyring %s: %w", keyringFile, err)
		}
		t.Keyring = data
	}
	if allowedSignersFile != "" {
		data, err := readTrustFile(allowedSignersFile)
		if err == nil {
			_, err = parseAllowedSigners(data)
		}
		if err != nil {
			return Trust{}, fmt.Errorf("verify SSH allowed signers %s: %w", allowedSignersFile, err)
		}
		t.AllowedSigners = data
	}
	return t, nil
}

// Enabled reports whether commits must be verified at all.
func (t Trust) Enabled() bool {
	return len(t.Keyring) > 0 || len(t.AllowedSigners) > 0
}

// VerifyCommit checks the signature of commit rev (a 40-hex hash Fetch
// returned, so in the cache) against t, offline. It returns the signer: for
// OpenPGP the primary key's fingerprint and user ID, for SSH the principals
// and the key's SHA256 fingerprint.
//
// A refused commit gives an error naming it and the reason, wrapping
// ErrUnsigned, ErrUntrustedKey or ErrBadSignature. Any other error (no trust
// configured, commit not in the cache, unparsable Trust) wraps none of them.
//
// OpenPGP keys are checked as of now (an expired or revoked key is not
// trusted); SSH valid-after/valid-before are checked against the committer
// time, as git does.
func (s *Source) VerifyCommit(ctx context.Context, rev string, t Trust) (signer string, err error) {
	if !isFullHash(rev) {
		return "", fmt.Errorf("verify commit %q: not a 40-hex commit hash", rev)
	}
	op := fmt.Sprintf("verify commit %s of %s", gitrev.Short(rev), s.logURL)
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if !t.Enabled() {
		return "", fmt.Errorf("%s: no trusted keys configured", op)
	}
	repo := s.openCache()
	if repo == nil {
		return "", fmt.Errorf("%s: no git cache yet (Fetch first)", op)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(rev))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return "", fmt.Errorf("%s: commit not in the git cache (Fetch it first): %w", op, err)
	}
	if err != nil {
		s.distrust = true
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if signer, err = t.verify(commit); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return signer, nil
}

// verify routes on the signature's armor. go-git's Commit.Verify answers a
// bare EOF both for an unsigned and for an SSH-signed commit, and reads only
// the first armored block of a keyring, so it is not used.
func (t Trust) verify(c *object.Commit) (string, error) {
	sig := c.PGPSignature
	switch {
	case strings.TrimSpace(sig) == "":
		return "", ErrUnsigned
	case strings.Count(sig, "-----BEGIN ") > 1:
		// As git (and go-git): several signatures have no single signer.
		return "", fmt.Errorf("%w: more than one signature block", ErrBadSignature)
	case strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----"):
		return t.verifySSH(c)
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		return t.verifyPGP(c)
	case strings.HasPrefix(sig, "-----BEGIN SIGNED MESSAGE-----"):
		return "", fmt.Errorf("%w: X.509 (gpgsm) signatures are not supported", ErrUntrustedKey)
	}
	return "", fmt.Errorf("%w: signature of unknown format", ErrBadSignature)
}

// verifyPGP checks an OpenPGP signature against t.Keyring.
func (t Trust) verifyPGP(c *object.Commit) (string, error) {
	issuer := pgpIssuer(c.PGPSignature)
	if len(t.Keyring) == 0 {
		return "", fmt.Errorf("%w: the commit is OpenPGP-signed (key %s) but no OpenPGP keyring is configured (--verify-keyring)", ErrUntrustedKey, issuer)
	}
	keyring, err := readKeyring(t.Keyring)
	if err != nil {
		return "", fmt.Errorf("OpenPGP keyring: %w", err)
	}
	payload, err := signedPayload(c)
	if err != nil {
		return "", err
	}
	entity, err := openpgp.CheckArmoredDetachedSignature(keyring, payload, strings.NewReader(c.PGPSignature), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return "", fmt.Errorf("%w: OpenPGP key %s is not in the keyring", ErrUntrustedKey, issuer)
	case errors.Is(err, pgperrors.ErrKeyRevoked), errors.Is(err, pgperrors.ErrKeyExpired):
		// The signature is good, but the key is no longer to be trusted.
		return "", fmt.Errorf("%w: OpenPGP key %s: %w", ErrUntrustedKey, issuer, err)
	case err != nil:
		return "", fmt.Errorf("%w: OpenPGP key %s: %w", ErrBadSignature, issuer, err)
	}
	name := fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)
	if id := entity.PrimaryIdentity(); id != nil {
		name += " (" + id.Name + ")"
	}
	return name, nil
}

// verifySSH checks an SSH signature (namespace "git") against
// t.AllowedSigners.
func (t Trust) verifySSH(c *object.Commit) (string, error) {
	sig, err := sshsig.Unarmor([]byte(c.PGPSignature))
	if err != nil {
		return "", fmt.Errorf("%w: SSH signature does not parse: %w", ErrBadSignature, err)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if len(t.AllowedSigners) == 0 {
		return "", fmt.Errorf("%w: the commit is SSH-signed (key %s) but no SSH allowed signers are configured (--verify-ssh-allowed-signers)", ErrUntrustedKey, fp)
	}
	signers, err := parseAllowedSigners(t.AllowedSigners)
	if err != nil {
		return "", fmt.Errorf("SSH allowed signers: %w", err)
	}
	// The key's standing is decided first, as for OpenPGP: an unknown key is
	// untrusted whatever it signed.
	e, err := findSigner(signers, sig.PublicKey, sshNamespace, c.Committer.When)
	if err != nil {
		return "", fmt.Errorf("%w: SSH key %s: %w", ErrUntrustedKey, fp, err)
	}
	if sig.Namespace != sshNamespace {
		return "", fmt.Errorf("%w: SSH key %s signed for namespace %q, not %q", ErrBadSignature, fp, sig.Namespace, sshNamespace)
	}
	payload, err := signedPayload(c)
	if err != nil {
		return "", err
	}
	if err := sshsig.Verify(payload, sig, e.key, sig.HashAlgorithm, sshNamespace); err != nil {
		return "", fmt.Errorf("%w: SSH key %s: %w", ErrBadSignature, fp, err)
	}
	return e.principals + " (" + fp + ")", nil
}

// signedPayload returns the bytes a commit signature covers: the commit
// object without its gpgsig header. For a commit read from the store,
// go-git strips the header from the raw object, byte for byte.
func signedPayload(c *object.Commit) (io.Reader, error) {
	var o plumbing.MemoryObject
	if err := c.EncodeWithoutSignature(&o); err != nil {
		return nil, fmt.Errorf("encode commit without signature: %w", err)
	}
	return o.Reader()
}

// pgpIssuer names the key an armored OpenPGP signature claims to be made
// by, for messages; "unknown" if it does not say or does not parse.
func pgpIssuer(armored string) string {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return "unknown"
	}
	p, err := packet.NewReader(block.Body).Next()
	sig, ok := p.(*packet.Signature)
	switch {
	case err != nil || !ok:
		return "unknown"
	case len(sig.IssuerFingerprint) > 0:
		return fmt.Sprintf("%X", sig.IssuerFingerprint)
	case sig.IssuerKeyId != nil:
		return fmt.Sprintf("%016X", *sig.IssuerKeyId)
	}
	return "unknown"
}

// readKeyring parses every armored key block in data. go-crypto's
// ReadArmoredKeyRing reads only the first, which would silently drop the
// keys of a second export appended to the file.
func readKeyring(data []byte) (openpgp.EntityList, error) {
	var keyring openpgp.EntityList
	for rest := data; ; {
		start := bytes.Index(rest, []byte("-----BEGIN PGP "))
		if start < 0 {
			break
		}
		end := bytes.Index(rest[start:], []byte("-----END PGP "))
		if end < 0 {
			return nil, errors.New("armored block without an END line")
		}
		end += start
		if nl := bytes.IndexByte(rest[end:], '\n'); nl >= 0 {
			end += nl + 1
		} else {
			end = len(rest)
		}
		block, err := armor.Decode(bytes.NewReader(rest[start:end]))
		if err != nil {
			return nil, fmt.Errorf("armored block: %w", err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("armored block of type %q, want %q", block.Type, openpgp.PublicKeyType)
		}
		el, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			return nil, err
		}
		keyring = append(keyring, el...)
		rest = rest[end:]
	}
	if len(keyring) == 0 {
		return nil, errors.New("no armored OpenPGP public key found (export with gpg --export --armor)")
	}
	return keyring, nil
}

// readTrustFile reads a keyring or allowed-signers file, up to maxTrustFile.
// Errors leave the name out: the caller puts it first.
func readTrustFile(name string) ([]byte, error) {
	var data []byte
	f, err := os.Open(name)
	if err == nil {
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, maxTrustFile+1))
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, pe.Err
	}
	if err != nil {
		return nil, err
	}
	if len(data) > maxTrustFile {
		return nil, fmt.Errorf("larger than %d bytes", maxTrustFile)
	}
	return data, nil
}
