package agecfg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// ErrDecrypt marks a config that cannot be decrypted: a person must fix the
// identity or the file.
var ErrDecrypt = errclass.New(errclass.NeedsPerson, "cannot decrypt")

// maxIdentitySize bounds the identity file read.
const maxIdentitySize = 1 << 20

// Decrypter decrypts with the identities of one file.
type Decrypter struct {
	IdentityFile string
}

// Decrypt returns the plaintext of an age file, binary or armored. The
// plaintext is returned only once the whole file authenticated.
func (d Decrypter) Decrypt(data []byte) ([]byte, error) {
	ids, err := d.identities()
	if err != nil {
		return nil, err
	}
	return decrypt(data, ids, d.IdentityFile)
}

// decrypt is Decrypt with the identities of idFile loaded: the part
// fuzzed.
func decrypt(data []byte, ids []age.Identity, idFile string) ([]byte, error) {
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header)) {
		src = armor.NewReader(src)
	}
	r, err := age.Decrypt(src, ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		var bad *armor.Error
		switch {
		case errors.As(err, &noMatch):
			return nil, fmt.Errorf("%w: not encrypted to any identity in %s (add its public key to the recipients and encrypt again)", ErrDecrypt, idFile)
		case errors.As(err, &bad):
			return nil, fmt.Errorf("%w: bad ASCII armor (damaged or truncated)", ErrDecrypt)
		}
		return nil, fmt.Errorf("%w: not an age file, or its header is damaged or truncated", ErrDecrypt)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: truncated or tampered (the payload does not authenticate)", ErrDecrypt)
	}
	return plain, nil
}

// identities reads the identity file: an SSH private key, or age
// identities one a line.
func (d Decrypter) identities() ([]age.Identity, error) {
	f, err := os.Open(d.IdentityFile)
	if err != nil {
		return nil, fmt.Errorf("%w: age identity: %w", ErrDecrypt, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIdentitySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: age identity: %w", ErrDecrypt, err)
	}
	if len(data) > maxIdentitySize {
		return nil, fmt.Errorf("%w: age identity %s: larger than %d bytes", ErrDecrypt, d.IdentityFile, maxIdentitySize)
	}
	ids, err := parseIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("%w: age identity %s: %v", ErrDecrypt, d.IdentityFile, err)
	}
	return ids, nil
}

// parseIdentities reads an SSH private key (PEM) or age identities. Its
// errors name what is wrong, never a line of the file.
func parseIdentities(data []byte) ([]age.Identity, error) {
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN")) {
		id, err := agessh.ParseIdentity(data)
		var pass *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pass):
			return nil, errors.New("a passphrase-protected SSH key; give one without a passphrase")
		case err != nil:
			return nil, errors.New("not a usable SSH private key (ed25519 or RSA, unencrypted)")
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		// age's own words say which line and why, without the line.
		return nil, err
	}
	return ids, nil
}
