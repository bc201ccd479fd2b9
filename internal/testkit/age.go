package testkit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

// AgeX25519Key writes a fresh age X25519 identity file (mode 0600) in dir,
// as age-keygen does, and returns its path and recipient.
func AgeX25519Key(dir string) (string, age.Recipient, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "age.key")
	data := "# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
	return path, id.Recipient(), os.WriteFile(path, []byte(data), 0o600)
}

// AgeSSHKey writes a fresh OpenSSH ed25519 private key (mode 0600) in dir
// and returns its path and its age recipient (what `age -R` takes from the
// matching ssh-ed25519 public key).
func AgeSSHKey(dir string) (string, age.Recipient, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "host")
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	r, err := agessh.NewEd25519Recipient(sshPub)
	return path, r, err
}

// AgeEncrypt encrypts plain to the recipients as the age tool does (-a:
// armored).
func AgeEncrypt(plain []byte, armored bool, to ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	var dst io.WriteCloser = nopCloser{&buf}
	if armored {
		dst = armor.NewWriter(&buf)
	}
	w, err := age.Encrypt(dst, to...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := dst.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
