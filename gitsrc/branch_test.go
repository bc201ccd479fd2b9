package gitsrc_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

var promoter = object.Signature{Name: "reconciler promote", Email: "promote@reconciler.invalid", When: time.Unix(1_800_000_000, 0)}

// pushableRepo is a deploy repo that accepts pushes to its checked-out
// branch (the worktree follows), so the test can also write to it as a
// second writer would.
func pushableRepo(t *testing.T) *gittest.Repo {
	t.Helper()
	r := gittest.NewRepo(t)
	r.Git("config", "receive.denyCurrentBranch", "updateInstead")
	r.WriteFile("web/current.conf", []byte("version 1\n"))
	r.WriteFile("other.conf", []byte("other 1\n"))
	r.Commit("version 1")
	return r
}

// TestBranchCommitPush: a commit made in memory, signed each way, pushed
// over file:// and over smart HTTP with a token, is on the remote branch,
// touches only the file, and passes the agents' signature check.
func TestBranchCommitPush(t *testing.T) {
	pgpKey := newPGPKey(t, "Promoter")
	_, sshPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	pgpFile, sshFile := filepath.Join(keys, "pgp.asc"), filepath.Join(keys, "id_ed25519")
	writeArmoredSecretKey(t, pgpFile, pgpKey)
	writeSSHPrivateKey(t, sshFile, sshPriv)
	_, sshLine := sshKeyOf(t, sshPriv)
	trust := gitsrc.Trust{Keyring: armoredKeyring(t, pgpKey), AllowedSigners: []byte("promote@example.com " + sshLine + "\n")}

	for _, tc := range []struct{ name, transport, key string }{
		{"file, OpenPGP", "file", pgpFile},
		{"http, SSH signature", "http", sshFile},
		{"file, unsigned", "file", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := pushableRepo(t)
			for i := range 3 { // history below the clone's depth
				r.WriteFile("other.conf", []byte(fmt.Sprintf("other %d\n", i+2)))
				r.Commit("other")
			}
			before := r.Git("rev-parse", "HEAD")
			opts := gitsrc.Options{URL: r.URL()}
			if tc.transport == "http" {
				srv := r.ServeHTTP(t, gittest.AllowPush(), gittest.WithBasicAuth("x-access-token", "s3cret"))
				auth, err := gitsrc.NewAuth(srv.URL, gitsrc.AuthOptions{Token: "s3cret"})
				if err != nil {
					t.Fatal(err)
				}
				opts = gitsrc.Options{URL: srv.URL, Auth: auth}
			}
			src := newSource(t, opts)
			b, err := src.OpenBranch(t.Context(), 2, gitsrc.Trust{}) // shallow: pushes from a shallow clone
			if err != nil {
				t.Fatalf("OpenBranch: %v", err)
			}
			if b.Head() != before {
				t.Errorf("Head: got %s, want %s", b.Head(), before)
			}
			var sign gitsrc.Signer
			if tc.key != "" {
				if sign, err = gitsrc.NewSigner(tc.key); err != nil {
					t.Fatalf("NewSigner: %v", err)
				}
			}
			rev, err := b.Commit("web/current.conf", []byte("version 2\n"), "bump to 2", promoter, sign)
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if err := b.Push(t.Context()); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if got := r.Git("rev-parse", "main"); got != rev {
				t.Errorf("remote main: got %s, want the pushed %s", got, rev)
			}
			if got := r.Git("show", "main:web/current.conf"); got != "version 2" {
				t.Errorf("web/current.conf on the remote: got %q, want %q", got, "version 2")
			}
			if got := r.Git("diff", "--name-only", before, rev); got != "web/current.conf" {
				t.Errorf("files changed: got %q, want web/current.conf alone", got)
			}
			if got := r.Git("log", "-1", "--format=%an <%ae>|%s|%P", rev); got != "reconciler promote <promote@reconciler.invalid>|bump to 2|"+before {
				t.Errorf("commit: got %q", got)
			}
			if got, want := r.Git("status", "--porcelain"), ""; got != want {
				t.Errorf("the remote's worktree after the push: got %q, want clean", got)
			}
			agent := newSource(t, gitsrc.Options{URL: r.URL()})
			fetch(t, agent, rev)
			signer, err := agent.VerifyCommit(t.Context(), rev, trust)
			switch {
			case tc.key == "" && !errors.Is(err, gitsrc.ErrUnsigned):
				t.Errorf("VerifyCommit of an unsigned commit: got %v, want ErrUnsigned", err)
			case tc.key != "" && err != nil:
				t.Errorf("VerifyCommit: %v", err)
			case tc.key != "" && signer == "":
				t.Errorf("VerifyCommit: no signer named")
			}
		})
	}
}

// TestBranchPushRejected: someone pushes between the open and the push;
// the push is refused as ErrPushRejected and the other commit stays.
func TestBranchPushRejected(t *testing.T) {
	for _, transport := range []string{"file", "http"} {
		t.Run(transport, func(t *testing.T) {
			r := pushableRepo(t)
			url := r.URL()
			if transport == "http" {
				url = r.ServeHTTP(t, gittest.AllowPush()).URL
			}
			b, err := newSource(t, gitsrc.Options{URL: url}).OpenBranch(t.Context(), 1, gitsrc.Trust{})
			if err != nil {
				t.Fatalf("OpenBranch: %v", err)
			}
			r.WriteFile("other.conf", []byte("other 2\n"))
			theirs := r.Commit("someone else")
			if _, err := b.Commit("web/current.conf", []byte("version 2\n"), "bump", promoter, nil); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			err = b.Push(t.Context())
			if !errors.Is(err, gitsrc.ErrPushRejected) {
				t.Fatalf("Push after someone else pushed: got %v, want ErrPushRejected", err)
			}
			if got := r.Git("rev-parse", "main"); got != theirs {
				t.Errorf("remote main: got %s, want theirs %s", got, theirs)
			}
		})
	}
}

// TestBranchLog walks the file's history, first parents only, and says
// when it stopped at the clone's depth.
func TestBranchLog(t *testing.T) {
	r := pushableRepo(t)
	r.Git("checkout", "-q", "-b", "side")
	r.WriteFile("web/current.conf", []byte("side\n"))
	r.Commit("on a side branch")
	r.Git("checkout", "-q", "main")
	r.WriteFile("web/current.conf", []byte("version 2\n"))
	r.Commit("version 2")
	r.Git("merge", "-q", "--no-ff", "-s", "ours", "-m", "merge side", "side")
	r.Git("rm", "-q", "web/current.conf")
	r.Commit("remove")
	r.WriteFile("web/current.conf", []byte("version 3\n"))
	r.Commit("version 3")

	for _, tc := range []struct {
		depth   int
		want    []string
		shallow bool
	}{
		{0, []string{"version 3\n", "missing", "version 2\n", "version 2\n", "version 1\n"}, false},
		{2, []string{"version 3\n", "missing"}, true},
	} {
		b, err := newSource(t, gitsrc.Options{URL: r.URL()}).OpenBranch(t.Context(), tc.depth, gitsrc.Trust{})
		if err != nil {
			t.Fatalf("OpenBranch(depth %d): %v", tc.depth, err)
		}
		var got []string
		var last time.Time
		shallow, err := b.Log(t.Context(), "web/current.conf", func(rev gitsrc.Rev) bool {
			switch {
			case errors.Is(rev.Err, gitsrc.ErrFileNotFound):
				got = append(got, "missing")
			case rev.Err != nil:
				t.Errorf("Log: %s: %v", rev.Hash, rev.Err)
			default:
				got = append(got, string(rev.Data))
			}
			if !last.IsZero() && !rev.Time.Before(last) {
				t.Errorf("Log: %s at %s, not before the one after it (%s)", rev.Hash, rev.Time, last)
			}
			last = rev.Time
			return true
		})
		if err != nil {
			t.Fatalf("Log(depth %d): %v", tc.depth, err)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || shallow != tc.shallow {
			t.Errorf("Log(depth %d): got %q shallow %v, want %q shallow %v", tc.depth, got, shallow, tc.want, tc.shallow)
		}
	}
}

// TestBranchRefuses: a tag, a head its readers would refuse, a path that
// is a symlink or missing.
func TestBranchRefuses(t *testing.T) {
	r := pushableRepo(t)
	r.Symlink("web/current.conf", "link.conf")
	r.Commit("a link")
	r.Git("tag", "v1")

	_, err := newSource(t, gitsrc.Options{URL: r.URL(), Ref: "v1"}).OpenBranch(t.Context(), 1, gitsrc.Trust{})
	if !errors.Is(err, gitsrc.ErrNotBranch) {
		t.Errorf("OpenBranch of a tag: got %v, want ErrNotBranch", err)
	}
	trust := gitsrc.Trust{Keyring: armoredKeyring(t, newPGPKey(t, "Someone"))}
	_, err = newSource(t, gitsrc.Options{URL: r.URL()}).OpenBranch(t.Context(), 1, trust)
	if !errors.Is(err, gitsrc.ErrUnsigned) {
		t.Errorf("OpenBranch of an unsigned head with a keyring: got %v, want ErrUnsigned", err)
	}
	for path, want := range map[string]string{"link.conf": "not a regular file", "web/nope.conf": "file not found", "web/current.conf/x": "not a directory"} {
		b, err := newSource(t, gitsrc.Options{URL: r.URL()}).OpenBranch(t.Context(), 1, gitsrc.Trust{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Commit(path, []byte("x"), "x", promoter, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Commit(%q): got %v, want an error saying %q", path, err, want)
		}
	}
}

// TestNewSigner: the key formats a signer accepts, and the ones it
// refuses with a reason.
func TestNewSigner(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pgpKey := newPGPKey(t, "Promoter")
	locked := newPGPKey(t, "Locked")
	if err := locked.EncryptPrivateKeys([]byte("pw"), nil); err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"ssh-pass": pem.EncodeToMemory(block),
		"public":   armoredKeyring(t, pgpKey),
		"garbage":  []byte("not a key\n"),
	}
	writeSSHPrivateKey(t, filepath.Join(dir, "ssh"), priv)
	writeArmoredSecretKey(t, filepath.Join(dir, "pgp"), pgpKey)
	writeArmoredSecretKey(t, filepath.Join(dir, "pgp-pass"), locked)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ file, want string }{
		{"ssh", ""},
		{"pgp", ""},
		{"ssh-pass", "passphrase"},
		{"pgp-pass", "passphrase"},
		{"public", "no secret key"},
		{"garbage", "neither an armored OpenPGP secret key nor an OpenSSH private key"},
		{"missing", "no such file"},
	} {
		_, err := gitsrc.NewSigner(filepath.Join(dir, tc.file))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("NewSigner(%s): %v", tc.file, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file)):
			t.Errorf("NewSigner(%s): got %v, want an error naming the file and saying %q", tc.file, err, tc.want)
		}
	}
}

// writeArmoredSecretKey exports the key's secret part, as gpg --armor
// --export-secret-keys does.
func writeArmoredSecretKey(t *testing.T, path string, e *openpgp.Entity) {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.PrivateKey.Encrypted {
		err = e.SerializePrivateWithoutSigning(w, nil)
	} else {
		err = e.SerializePrivate(w, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
