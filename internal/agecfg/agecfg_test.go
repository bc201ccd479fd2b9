package agecfg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

const plaintext = "db_password = hunter2-pl41nt3xt\n"

func encrypt(t testing.TB, plain string, armored bool, to ...age.Recipient) []byte {
	t.Helper()
	data, err := testkit.AgeEncrypt([]byte(plain), armored, to...)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// x25519Key writes a fresh age identity file and returns it and its recipient.
func x25519Key(t testing.TB) (string, age.Recipient) {
	t.Helper()
	path, r, err := testkit.AgeX25519Key(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return path, r
}

// sshKey writes a fresh OpenSSH ed25519 private key and returns it and its
// recipient.
func sshKey(t testing.TB) (string, age.Recipient) {
	t.Helper()
	path, r, err := testkit.AgeSSHKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return path, r
}

func TestDecrypt(t *testing.T) {
	xKey, xRcpt := x25519Key(t)
	sKey, sRcpt := sshKey(t)
	otherKey, _ := x25519Key(t)
	garbage := filepath.Join(t.TempDir(), "garbage.key")
	os.WriteFile(garbage, []byte("AGE-SECRET-KEY-1NOTAKEY\n"), 0o600)
	binary := encrypt(t, plaintext, false, xRcpt, sRcpt)
	armored := encrypt(t, plaintext, true, xRcpt, sRcpt)
	tampered := bytes.Clone(binary)
	tampered[len(tampered)-5] ^= 1
	for _, tc := range []struct {
		name, key string
		data      []byte
		want      string // a word of the error; "" means success
	}{
		{"x25519 binary", xKey, binary, ""},
		{"x25519 armored", xKey, armored, ""},
		{"ssh binary", sKey, binary, ""},
		{"ssh armored", sKey, armored, ""},
		{"other recipients", otherKey, binary, "not encrypted to any identity"},
		{"truncated payload", xKey, binary[:len(binary)-10], "truncated or tampered"},
		{"truncated header", xKey, binary[:40], "header"},
		{"tampered", xKey, tampered, "truncated or tampered"},
		{"truncated armor", xKey, armored[:len(armored)/2], "armor"},
		{"plaintext named .age", xKey, []byte(plaintext), "not an age file"},
		{"missing identity", filepath.Join(t.TempDir(), "nope.key"), binary, "nope.key"},
		{"bad identity", garbage, binary, "garbage.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decrypter{IdentityFile: tc.key}.Decrypt(tc.data)
			if tc.want == "" {
				if err != nil || string(got) != plaintext {
					t.Fatalf("got %q, %v, want the plaintext", got, err)
				}
				return
			}
			if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), tc.want) || got != nil {
				t.Fatalf("got %q, %v, want ErrDecrypt saying %q", got, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "SECRET-KEY") {
				t.Errorf("got error %q, want no plaintext or key material", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	key, _ := x25519Key(t)
	if w := Check(key); w != "" {
		t.Errorf("mode 0600: got warning %q, want none", w)
	}
	os.Chmod(key, 0o644)
	if w := Check(key); !strings.Contains(w, key) || !strings.Contains(w, "0644") {
		t.Errorf("mode 0644: got warning %q, want one naming the file and mode", w)
	}
	if w := Check(filepath.Join(t.TempDir(), "missing")); w != "" {
		t.Errorf("missing file: got warning %q, want none (decrypting reports it)", w)
	}
}

// FuzzDecrypt: any bytes, armored or not, never panic the parser of the age
// header and stream, and garbage never yields plaintext. The seeds are real
// files for the fuzzer's identity, so mutations explore deep into the
// format.
func FuzzDecrypt(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	f.Add(encrypt(f, plaintext, false, id.Recipient()))
	f.Add(encrypt(f, plaintext, true, id.Recipient()))
	f.Add(encrypt(f, "", false, id.Recipient(), other.Recipient()))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n\n--- AAAA\n"))
	f.Add([]byte(armor.Header + "\n\n" + armor.Footer + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, err := decrypt(data, []age.Identity{id}, "fuzz.key")
		if err != nil && plain != nil {
			t.Fatalf("got plaintext %q with error %v", plain, err)
		}
		if err == nil && !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header)) && !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) {
			t.Fatalf("got plaintext %q from bytes that are no age file", plain)
		}
		if err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got error %v, want ErrDecrypt", err)
		}
	})
}
