package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestBumpSignedDeploys: a bump signed with --sign-key (an SSH key) is
// deployed by a real agent (sync) that trusts only that key
// (--verify-ssh-allowed-signers); an unsigned bump on top of it is refused
// by the agent, which keeps running the signed release.
func TestBumpSignedDeploys(t *testing.T) {
	r := newBumpRemote(t, nil)
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	key, pub := gittest.NewSSHKey(t)
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(signers, []byte("ci@example.com "+string(ssh.MarshalAuthorizedKey(pub))), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agent := func() (string, int) {
		_, errOut, code := runCLI(t, syncArgs(r.url("http"), dir, "--verify-ssh-allowed-signers", signers)...)
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
}
