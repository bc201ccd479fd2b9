package reconcile

import (
	"fmt"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// Decrypter opens an encrypted config of the deploy repo (age, wired by
// cmd/reconciler). Its error never holds plaintext or key material; the
// caller adds the file's name.
type Decrypter interface {
	Decrypt(data []byte) ([]byte, error)
}

// errNoDecrypter marks an encrypted config read by an engine that was given
// no identity to decrypt it with.
var errNoDecrypter = errclass.New(errclass.NeedsPerson, "is age-encrypted: needs an age identity (--age-identity)")

// encryptedSuffix names the configs that are encrypted: cfg.path ends in it.
const encryptedSuffix = ".age"

// isEncrypted reports whether a repo path names an encrypted config.
func isEncrypted(path string) bool { return strings.HasSuffix(path, encryptedSuffix) }

// decryptCfg returns the plaintext of an encrypted config. The plan then
// compares the plaintext's digest with release/: age output differs at every
// encryption, so immutability must be about the plaintext.
func decryptCfg(dec Decrypter, name string, data []byte) ([]byte, error) {
	if dec == nil {
		return nil, fmt.Errorf("%s %w", name, errNoDecrypter)
	}
	plain, err := dec.Decrypt(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return plain, nil
}
