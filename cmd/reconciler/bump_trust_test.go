package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestBumpSignedDeploys: a bump signed with --sign-key (an SSH key, or an
// OpenPGP key) is deployed by a real agent (sync) that trusts only that
// key (--verify-ssh-allowed-signers, --verify-keyring); an unsigned bump on
// top of it is refused by the agent, which keeps running the signed
// release.
func TestBumpSignedDeploys(t *testing.T) {
	for _, kind := range []string{"ssh", "openpgp"} {
		t.Run(kind, func(t *testing.T) {
			r := newBumpRemote(t, nil)
			r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
			r.repo.Commit("web 1.0")
			r.repo.Git("push", "-q", r.bare, "HEAD:main")
			key, verify := signingKey(t, kind)
			dir := t.TempDir()
			agent := func() (string, int) {
				_, errOut, code := runCLI(t, syncArgs(r.url("http"), dir, verify...)...)
				return errOut, code
			}

			out, errOut, code := runCLI(t, r.bumpArgs("http", "web", "2.0", "--sign-key", key)...)
			if code != 0 {
				t.Fatalf("signed bump: exit %d: %s%s", code, out, errOut)
			}
			if errOut, code := agent(); code != 0 {
				t.Fatalf("the agent refused the signed bump: exit %d: %s", code, errOut)
			}
			if v := readConf(t, dir)["version"]; v != "2.0" {
				t.Fatalf("after the signed bump the agent applied %q, want 2.0", v)
			}

			out, errOut, code = runCLI(t, r.bumpArgs("http", "web", "3.0")...)
			if code != 0 {
				t.Fatalf("unsigned bump: exit %d: %s%s", code, out, errOut)
			}
			rev := strings.TrimSpace(out)
			errOut, code = agent()
			if code == 0 || !strings.Contains(errOut, "not signed") || !strings.Contains(errOut, rev[:12]) {
				t.Errorf("the agent on an unsigned bump: exit %d, %q; want a refusal naming %s", code, errOut, rev[:12])
			}
			if v := readConf(t, dir)["version"]; v != "2.0" {
				t.Errorf("after the unsigned bump the agent applied %q, want 2.0 still", v)
			}
		})
	}
}

// signingKey writes a new private key of kind ("ssh" or "openpgp") and
// what an agent trusts it with; it returns the key file and the agent's
// flags.
func signingKey(t *testing.T, kind string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	if kind == "ssh" {
		key, pub := gittest.NewSSHKey(t)
		signers := filepath.Join(dir, "allowed_signers")
		if err := os.WriteFile(signers, []byte("ci@example.com "+string(ssh.MarshalAuthorizedKey(pub))), 0o644); err != nil {
			t.Fatal(err)
		}
		return key, []string{"--verify-ssh-allowed-signers", signers}
	}
	e, err := openpgp.NewEntity("CI", "", "ci@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	armored := func(typ string, write func(w *bytes.Buffer) error) []byte {
		var buf bytes.Buffer
		w, err := armor.Encode(&buf, typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if err := write(&raw); err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return append(buf.Bytes(), '\n')
	}
	secret := armored(openpgp.PrivateKeyType, func(w *bytes.Buffer) error { return e.SerializePrivate(w, nil) })
	public := armored(openpgp.PublicKeyType, func(w *bytes.Buffer) error { return e.Serialize(w) })
	key, ring := filepath.Join(dir, "ci.asc"), filepath.Join(dir, "keyring.asc")
	if err := os.WriteFile(key, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ring, public, 0o644); err != nil {
		t.Fatal(err)
	}
	return key, []string{"--verify-keyring", ring}
}
