package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/reconcile"
	"golang.org/x/crypto/ssh"
)

// TestSyncOverSSH: a real SSH git server on 127.0.0.1 with a good key, a
// wrong key, and an unknown host key.
func TestSyncOverSSH(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	key, pub := gittest.NewSSHKey(t)
	srv := d.ServeSSH(t, pub)
	tmp := t.TempDir()
	known := filepath.Join(tmp, "known_hosts")
	os.WriteFile(known, []byte(srv.KnownHostsLine+"\n"), 0o644)
	otherKnown := filepath.Join(tmp, "other_known_hosts")
	_, otherPub := gittest.NewSSHKey(t)
	os.WriteFile(otherKnown, []byte("[127.0.0.1]:1 "+string(ssh.MarshalAuthorizedKey(otherPub))), 0o644)
	wrongKey, _ := gittest.NewSSHKey(t)

	dir := t.TempDir()
	mustSync(t, srv.URL, dir, "--ssh-key", key, "--known-hosts", known)
	if v := readConf(t, dir)["version"]; v != "1.0" {
		t.Fatalf("over SSH: got version %q, want 1.0", v)
	}
	_, errOut, code := runCLI(t, syncArgs(srv.URL, dir, "--ssh-key", wrongKey, "--known-hosts", known)...)
	if code != 1 || !strings.Contains(errOut, "authentication") {
		t.Errorf("wrong key: got exit %d %q, want an authentication error", code, errOut)
	}
	_, errOut, code = runCLI(t, syncArgs(srv.URL, dir, "--ssh-key", key, "--known-hosts", otherKnown)...)
	if code != 1 || !strings.Contains(errOut, "--known-hosts") || !strings.Contains(errOut, "ssh-keyscan") {
		t.Errorf("unknown host key: got exit %d %q, want an error naming --known-hosts and how to add the key", code, errOut)
	}
}

// TestSyncVerifiesSignatures: with --verify-ssh-allowed-signers only a
// commit signed by a listed key deploys; unsigned and wrongly signed ones
// are refused with the commit and the reason, shown in status.
func TestSyncVerifiesSignatures(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	key, pub := gittest.NewSSHKey(t)
	otherKey, _ := gittest.NewSSHKey(t)
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	os.WriteFile(signers, []byte(`deploy@example.com namespaces="git" `+string(ssh.MarshalAuthorizedKey(pub))), 0o644)
	signedCommit := func(v, keyFile string) string {
		d.art.put("/web-"+v, binary(v))
		d.WriteFile("web/cfg-"+v+".json", []byte(`{"v":"`+v+`"}`))
		d.WriteFile("web/current.conf", []byte(`{"version":"`+v+`","bin":{"url":"`+d.art.URL+`/web-`+v+`","sha256":"`+sha(binary(v))+`"},"cfg":{"path":"web/cfg-`+v+`.json"}}`))
		d.Git("add", "-A")
		if keyFile == "" {
			d.Git("commit", "-q", "-m", "unsigned "+v)
		} else {
			d.Git("-c", "gpg.format=ssh", "-c", "user.signingkey="+keyFile, "commit", "-q", "-S", "-m", "signed "+v)
		}
		return d.Git("rev-parse", "HEAD")
	}
	dir := t.TempDir()
	args := func() []string { return syncArgs(d.URL(), dir, "--verify-ssh-allowed-signers", signers) }

	signedCommit("1.0", key)
	if out, errOut, code := runCLI(t, args()...); code != 0 {
		t.Fatalf("trusted signature: exit %d\n%s%s", code, out, errOut)
	}
	for _, c := range []struct{ signer, want string }{{"", "not signed"}, {otherKey, "not trusted"}} {
		rev := signedCommit("2.0", c.signer)
		_, errOut, code := runCLI(t, args()...)
		if code != 1 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, rev[:12]) {
			t.Errorf("got exit %d %q, want a refusal naming %s and %q", code, errOut, rev[:12], c.want)
		}
		if v := readConf(t, dir)["version"]; v != "1.0" {
			t.Errorf("an untrusted commit deployed version %s", v)
		}
		if _, err := os.Stat(filepath.Join(dir, "release", "app.2.0")); !os.IsNotExist(err) {
			t.Errorf("an untrusted commit's artifact was downloaded (%v)", err)
		}
		out, _, _ := runCLI(t, "status", "--dir", dir, "--json")
		var st reconcile.Status
		json.Unmarshal([]byte(out), &st)
		if st.LastError == nil || !strings.Contains(st.LastError.Message, c.want) {
			t.Errorf("status: last error %+v, want the refusal", st.LastError)
		}
		d.Git("reset", "-q", "--hard", "HEAD~1")
	}
	signedCommit("3.0", key)
	if out, errOut, code := runCLI(t, args()...); code != 0 {
		t.Fatalf("trusted signature after refusals: exit %d\n%s%s", code, out, errOut)
	}
}
