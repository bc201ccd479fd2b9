package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// The plaintext secret of the encrypted configs; no output may show it.
const ageSecret = "pl41n-S3cret-db-password"

func secretCfg(v, password string) string {
	return fmt.Sprintf("{\n  \"version\": %q,\n  \"db_password\": %q\n}\n", v, password)
}

// newAgeKey writes a fresh age X25519 identity file (mode 0600).
func newAgeKey(t *testing.T) (string, age.Recipient) {
	t.Helper()
	return must2(t)(testkit.AgeX25519Key(t.TempDir()))
}

// newSSHAgeKey writes a fresh OpenSSH ed25519 private key (mode 0600).
func newSSHAgeKey(t *testing.T) (string, age.Recipient) {
	t.Helper()
	return must2(t)(testkit.AgeSSHKey(t.TempDir()))
}

// must2 fails the test on the error of a (path, recipient, error) result.
func must2(t *testing.T) func(string, age.Recipient, error) (string, age.Recipient) {
	return func(p string, r age.Recipient, err error) (string, age.Recipient) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p, r
	}
}

// ageEncrypt encrypts plain as the age tool does (-a for armored).
func ageEncrypt(t *testing.T, plain string, armored bool, to ...age.Recipient) []byte {
	t.Helper()
	data, err := testkit.AgeEncrypt([]byte(plain), armored, to...)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// releaseEncrypted commits version v with its config as the age file data.
func (d *deployRepo) releaseEncrypted(v string, data []byte) string {
	url, digest := d.art.put("/web-"+v, binary(v))
	d.WriteFile("web/cfg-"+v+".json.age", data)
	d.WriteFile("web/current.conf", []byte(fmt.Sprintf(
		`{"version": %q, "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "web/cfg-%s.json.age"}}`, v, url, digest, v)))
	return d.Commit("web " + v + " (encrypted config)")
}

// TestAgeEncryptedConfig: an age-encrypted config is installed as its
// plaintext; re-encrypting it under the same version changes nothing, a
// different plaintext is refused; X25519 and SSH identities, binary and
// armored files all work.
func TestAgeEncryptedConfig(t *testing.T) {
	t.Parallel()
	xKey, xRcpt := newAgeKey(t)
	sKey, sRcpt := newSSHAgeKey(t)
	d := newDeployRepo(t)
	d.release("1.0")
	dir, sshDir := t.TempDir(), t.TempDir()
	mustSync(t, d.URL(), dir, "--age-identity", xKey) // a plain config needs no key, but may have one

	rev := d.releaseEncrypted("2.0", ageEncrypt(t, secretCfg("2.0", ageSecret), true, xRcpt, sRcpt))
	out, _, code := runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--age-identity", xKey)
	want := "install   cfg web/cfg-2.0.json.age@" + rev[:12] + " (encrypted) sha256:" + sha([]byte(secretCfg("2.0", ageSecret)))
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "config    encrypted: sha256 ") || strings.Contains(out, ageSecret) {
		t.Errorf("diff: exit %d, got\n%s\nwant exit 1, the line %q, the digests and no plaintext", code, out, want)
	}
	out, _, _ = runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--age-identity", xKey, "--show-secrets")
	if !strings.Contains(out, `+  "db_password": "`+ageSecret+`"`) {
		t.Errorf("diff --show-secrets: got\n%s\nwant the text diff", out)
	}

	mustSync(t, d.URL(), dir, "--age-identity", xKey)
	mustSync(t, d.URL(), sshDir, "--age-identity", sKey)
	for _, dd := range []string{dir, sshDir} {
		assertApplied(t, dd, "2.0", rev)
		if got, _ := os.ReadFile(filepath.Join(dd, "release", "cfg.2.0")); string(got) != secretCfg("2.0", ageSecret) {
			t.Errorf("%s release/cfg.2.0: got %q, want the plaintext", dd, got)
		}
	}

	// age output differs at every encryption: the same plaintext, re-encrypted
	// (binary this time), is no change.
	d.releaseEncrypted("2.0", ageEncrypt(t, secretCfg("2.0", ageSecret), false, xRcpt, sRcpt))
	mustSync(t, d.URL(), dir, "--age-identity", xKey)
	before := snapshot(t, dir, ".reconciler")
	out, _, code = runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--age-identity", xKey, "--restart", "none")
	if code != 0 || !strings.Contains(out, "in sync") {
		t.Errorf("diff after re-encrypting: exit %d, got\n%s\nwant in sync", code, out)
	}

	// Another plaintext under a released version is refused.
	d.releaseEncrypted("2.0", ageEncrypt(t, secretCfg("2.0", "changed-"+ageSecret), false, xRcpt))
	_, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--age-identity", xKey)...)
	if code != 1 || !strings.Contains(errOut, "release/cfg.2.0") || !strings.Contains(errOut, "immutable") {
		t.Errorf("other plaintext, same version: exit %d, stderr %s; want a conflict naming release/cfg.2.0", code, errOut)
	}
	if after := snapshot(t, dir, ".reconciler"); after != before {
		t.Errorf("the refused sync changed the directory:\n%s\nwant\n%s", after, before)
	}
}

// TestAgeBadInput: every way an encrypted config cannot be opened fails with
// an error naming the file at fault, switches nothing and prints no
// plaintext.
func TestAgeBadInput(t *testing.T) {
	t.Parallel()
	key, rcpt := newAgeKey(t)
	_, otherRcpt := newAgeKey(t)
	good := ageEncrypt(t, secretCfg("3.0", ageSecret), false, rcpt)
	tampered := bytes.Clone(good)
	tampered[len(tampered)-20] ^= 1
	for _, tc := range []struct {
		name string
		data []byte
		key  string // --age-identity; "" none
		want []string
	}{
		{"other recipients", ageEncrypt(t, secretCfg("3.0", ageSecret), false, otherRcpt), key, []string{"web/cfg-3.0.json.age", "not encrypted to any identity"}},
		{"truncated", good[:len(good)-30], key, []string{"web/cfg-3.0.json.age", "truncated"}},
		{"truncated armor", ageEncrypt(t, secretCfg("3.0", ageSecret), true, rcpt)[:200], key, []string{"web/cfg-3.0.json.age", "armor"}},
		{"tampered", tampered, key, []string{"web/cfg-3.0.json.age", "tampered"}},
		{"missing identity file", good, filepath.Join(t.TempDir(), "gone.key"), []string{"web/cfg-3.0.json.age", "gone.key"}},
		{"no identity", good, "", []string{"web/cfg-3.0.json.age", "--age-identity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDeployRepo(t)
			d.release("2.0")
			dir := t.TempDir()
			mustSync(t, d.URL(), dir)
			before := snapshot(t, dir, ".reconciler")
			d.releaseEncrypted("3.0", tc.data)
			var extra []string
			if tc.key != "" {
				extra = []string{"--age-identity", tc.key}
			}
			out, errOut, code := runCLI(t, syncArgs(d.URL(), dir, extra...)...)
			if code != 1 {
				t.Fatalf("sync: got exit %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %s: want it to say %q", errOut, w)
				}
			}
			if strings.Contains(out+errOut, ageSecret) {
				t.Errorf("the plaintext appears in the output:\n%s%s", out, errOut)
			}
			if after := snapshot(t, dir, ".reconciler"); after != before {
				t.Errorf("the failed sync changed the directory:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// TestAgeIdentityLoosePermissions: an identity file others can read is
// warned about, as ssh does, naming it; it still works.
func TestAgeIdentityLoosePermissions(t *testing.T) {
	t.Parallel()
	key, rcpt := newAgeKey(t)
	os.Chmod(key, 0o644)
	d := newDeployRepo(t)
	rev := d.releaseEncrypted("2.0", ageEncrypt(t, secretCfg("2.0", ageSecret), false, rcpt))
	dir := t.TempDir()
	_, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--age-identity", key)...)
	if code != 0 || !strings.Contains(errOut, key) || !strings.Contains(errOut, "readable by others") {
		t.Errorf("sync: exit %d, stderr %s; want success and a warning naming %s", code, errOut, key)
	}
	assertApplied(t, dir, "2.0", rev)
	if strings.Contains(errOut, "AGE-SECRET-KEY") {
		t.Errorf("the key appears in the output: %s", errOut)
	}
}
