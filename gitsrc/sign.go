package gitsrc

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Signer signs a commit: it returns the armored signature of the commit
// object without its signature (go-git's git.Signer has the same method).
type Signer interface {
	Sign(message io.Reader) ([]byte, error)
}

// NewSigner reads a private key that signs commits so that agents verify
// them: an armored OpenPGP secret key (gpg --armor --export-secret-keys),
// checked by --verify-keyring, or an OpenSSH private key (ssh-keygen),
// signing in the namespace "git" as `git commit -S` with gpg.format ssh
// does, checked by --verify-ssh-allowed-signers. A key protected by a
// passphrase is refused: there is no one to type it.
func NewSigner(file string) (Signer, error) {
	data, err := readTrustFile(file)
	if err != nil {
		return nil, fmt.Errorf("sign key %s: %w", file, err)
	}
	if bytes.Contains(data, []byte("-----BEGIN PGP ")) {
		s, err := pgpSigner(data)
		if err != nil {
			return nil, fmt.Errorf("sign key %s: %w", file, err)
		}
		return s, nil
	}
	key, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("sign key %s: the SSH key is protected by a passphrase; give a key without one (ssh-keygen -p -N '' removes it)", file)
	case err != nil:
		return nil, fmt.Errorf("sign key %s: neither an armored OpenPGP secret key nor an OpenSSH private key: %w", file, err)
	}
	return sshSigner{key: key}, nil
}

// pgpSigner picks the first key of the armored keyring that can sign.
func pgpSigner(data []byte) (Signer, error) {
	ents, err := readKeyring(data)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			return nil, errors.New("the OpenPGP key is protected by a passphrase; export one without (gpg --passwd, empty passphrase)")
		}
		return pgpKey{e}, nil
	}
	return nil, errors.New("the OpenPGP keyring holds no secret key (gpg --armor --export-secret-keys)")
}

type pgpKey struct{ e *openpgp.Entity }

func (k pgpKey) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, k.e, message, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type sshSigner struct{ key ssh.Signer }

func (k sshSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, k.key, sshsig.HashSHA512, sshNamespace)
	if err != nil {
		return nil, err
	}
	return sshsig.Armor(sig), nil
}

// signCommit returns the signature of c (which has none yet) by sign.
func signCommit(c *object.Commit, sign Signer) (string, error) {
	var o plumbing.MemoryObject
	if err := c.EncodeWithoutSignature(&o); err != nil {
		return "", err
	}
	r, err := o.Reader()
	if err != nil {
		return "", err
	}
	sig, err := sign.Sign(r)
	if err != nil {
		return "", err
	}
	return string(sig), nil
}
