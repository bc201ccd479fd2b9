package gitsrc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testSSHKey returns a fixed ed25519 public key made from seed, and its
// authorized_keys form without the newline.
func testSSHKey(tb testing.TB, seed byte) (ssh.PublicKey, string) {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		tb.Fatal(err)
	}
	return pub, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

func TestParseAllowedSigners(t *testing.T) {
	t.Parallel()
	pub, key := testSSHKey(t, 1)
	tests := []struct {
		name, file      string
		wantPrincipals  string
		wantNamespaces  []string
		wantAfter       time.Time
		wantBefore      time.Time
		wantErrContains string // "" means success
	}{
		{name: "plain", file: "alice@example.com " + key + " laptop", wantPrincipals: "alice@example.com"},
		{name: "comments, blanks, CRLF", file: "# deploy keys\r\n\r\n  \n\talice@example.com " + key + "\r\n", wantPrincipals: "alice@example.com"},
		{name: "quoted principals", file: `"alice@example.com,bob@example.com" ` + key, wantPrincipals: "alice@example.com,bob@example.com"},
		{name: "namespaces", file: `* namespaces="git,file" ` + key, wantPrincipals: "*", wantNamespaces: []string{"git", "file"}},
		{
			name:           "validity",
			file:           `ci NameSpaces="git",valid-after="20240101Z",valid-before="20250102123059Z" ` + key,
			wantPrincipals: "ci", wantNamespaces: []string{"git"},
			wantAfter:  time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			wantBefore: time.Date(2025, 1, 2, 12, 30, 59, 0, time.UTC),
		},
		{name: "empty file", file: "# nobody\n\n", wantErrContains: "no signers"},
		{name: "no key", file: "alice@example.com", wantErrContains: "line 1: no public key"},
		{name: "bad key", file: "alice ssh-ed25519 AAAAnotakey", wantErrContains: "line 1: public key"},
		{name: "key type mismatch", file: "alice ssh-rsa " + strings.Fields(key)[1], wantErrContains: "public key"},
		{name: "error names its line", file: "alice " + key + "\n# x\nbob ssh-ed25519 AAAA", wantErrContains: "line 3"},
		{name: "cert-authority", file: "* cert-authority " + key, wantErrContains: "cert-authority is not supported"},
		{name: "unknown option", file: "alice restrict " + key, wantErrContains: `unsupported option "restrict"`},
		{name: "unquoted value", file: "alice namespaces=git " + key, wantErrContains: `want namespaces="value"`},
		{name: "empty namespaces", file: `alice namespaces="" ` + key, wantErrContains: "namespaces"},
		{name: "duplicate option", file: `alice namespaces="git",namespaces="file" ` + key, wantErrContains: "given twice"},
		{name: "bad time", file: `alice valid-after="2024-01-01" ` + key, wantErrContains: "valid-after"},
		{name: "impossible date", file: `alice valid-before="20241399" ` + key, wantErrContains: "valid-before"},
		{name: "unterminated quote", file: `"alice ` + key, wantErrContains: "closing quote"},
		{name: "text after quote", file: `"alice"bob ` + key, wantErrContains: "after the closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseAllowedSigners([]byte(tt.file))
			if tt.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErrContains)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d entries, want 1", len(got))
			}
			e := got[0]
			if !bytes.Equal(e.key.Marshal(), pub.Marshal()) {
				t.Errorf("got key %s, want %s", ssh.FingerprintSHA256(e.key), ssh.FingerprintSHA256(pub))
			}
			if e.principals != tt.wantPrincipals {
				t.Errorf("got principals %q, want %q", e.principals, tt.wantPrincipals)
			}
			if strings.Join(e.namespaces, "|") != strings.Join(tt.wantNamespaces, "|") {
				t.Errorf("got namespaces %q, want %q", e.namespaces, tt.wantNamespaces)
			}
			if !e.validAfter.Equal(tt.wantAfter) || !e.validBefore.Equal(tt.wantBefore) {
				t.Errorf("got validity [%v, %v], want [%v, %v]", e.validAfter, e.validBefore, tt.wantAfter, tt.wantBefore)
			}
		})
	}
}

// TestAllowedSignerCertificate: a certificate line is refused, not taken
// for its inner key.
func TestAllowedSignerCertificate(t *testing.T) {
	t.Parallel()
	pub, _ := testSSHKey(t, 1)
	_, caPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ssh.NewSignerFromKey(caPriv)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, ValidPrincipals: []string{"alice"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	_, err = parseAllowedSigners([]byte("alice " + string(ssh.MarshalAuthorizedKey(cert))))
	if err == nil || !strings.Contains(err.Error(), "certificate is not supported") {
		t.Fatalf("got error %v, want a refused certificate", err)
	}
}

func TestFindSigner(t *testing.T) {
	t.Parallel()
	listed, key := testSSHKey(t, 1)
	other, _ := testSSHKey(t, 2)
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, options   string
		key             ssh.PublicKey
		wantErrContains string
	}{
		{name: "no options", key: listed},
		{name: "unlisted key", key: other, wantErrContains: "not listed"},
		{name: "namespace listed", options: `namespaces="file,git"`, key: listed},
		{name: "namespace pattern", options: `namespaces="g?t"`, key: listed},
		{name: "other namespace", options: `namespaces="file"`, key: listed, wantErrContains: `namespaces "file", not "git"`},
		{name: "negated namespace", options: `namespaces="*,!git"`, key: listed, wantErrContains: "namespaces"},
		{name: "inside validity", options: `valid-after="20240101Z",valid-before="20250101Z"`, key: listed},
		{name: "not yet valid", options: `valid-after="20240602Z"`, key: listed, wantErrContains: "valid only after"},
		{name: "expired", options: `valid-before="202405312359Z"`, key: listed, wantErrContains: "valid only before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			signers, err := parseAllowedSigners([]byte("alice@example.com " + tt.options + " " + key))
			if err != nil {
				t.Fatal(err)
			}
			e, err := findSigner(signers, tt.key, "git", at)
			if tt.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErrContains)
				}
				return
			}
			if err != nil || e.principals != "alice@example.com" {
				t.Fatalf("got %+v, %v; want the alice@example.com entry", e, err)
			}
		})
	}
}

// TestFindSignerSecondEntry: a key listed twice is trusted if any of its
// entries allows the signature.
func TestFindSignerSecondEntry(t *testing.T) {
	t.Parallel()
	pub, key := testSSHKey(t, 1)
	signers, err := parseAllowedSigners([]byte(`old namespaces="file" ` + key + "\nnew " + key + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := findSigner(signers, pub, "git", time.Now())
	if err != nil || e.principals != "new" || e.line != 2 {
		t.Fatalf("got %+v, %v; want the entry on line 2", e, err)
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, p string
		want bool
	}{
		{"git", "git", true},
		{"git", "gi", false},
		{"git", "gitx", false},
		{"git", "*", true},
		{"", "*", true},
		{"git", "g*", true},
		{"git", "*t", true},
		{"git", "g?t", true},
		{"git", "?", false},
		{"git", "**g**i**t**", true},
		{"gigit", "g*it", true},
		{"file", "g*", false},
		{strings.Repeat("a", 200), strings.Repeat("*a", 100) + "b", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.s, tt.p); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

// FuzzParseAllowedSigners: parsing never panics, and every accepted entry
// has principals and a parsed, plain (non-certificate) key.
func FuzzParseAllowedSigners(f *testing.F) {
	_, key := testSSHKey(f, 1)
	for _, s := range []string{
		"alice@example.com " + key,
		`"a b" namespaces="git",valid-after="20240101Z" ` + key + " comment",
		"# c\n\n* " + key + "\r\nbob cert-authority " + key,
		`x namespaces="g\"it" ` + key,
		"İ=x " + key,
		`"` + key,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		signers, err := parseAllowedSigners(data)
		if err != nil {
			return
		}
		if len(signers) == 0 {
			t.Fatal("accepted a file without entries")
		}
		for _, e := range signers {
			if e.key == nil || e.principals == "" || e.line < 1 {
				t.Fatalf("accepted entry %+v without key, principals or line", e)
			}
			if _, ok := e.key.(*ssh.Certificate); ok {
				t.Fatalf("line %d: accepted a certificate", e.line)
			}
			if _, err := ssh.ParsePublicKey(e.key.Marshal()); err != nil {
				t.Fatalf("line %d: key does not round-trip: %v", e.line, err)
			}
			_ = e.allows("git", time.Now())
		}
	})
}
