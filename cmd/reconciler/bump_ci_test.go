package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestBumpCIScript runs deploy-repo-example/ci/deploy.sh as a CI job
// would, with the real command (this test binary, re-executed) as
// `reconciler` on its PATH and the settings in RECONCILER_* variables: the
// binary is uploaded (curl, to a file:// store), the bump pushed signed
// with the config committed next to it, and a real agent that trusts the
// key deploys it.
func TestBumpCIScript(t *testing.T) {
	r := newBumpRemote(t, nil)
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	bin := t.TempDir()
	wrapper := "#!/bin/sh\nRECONCILER_TEST_MAIN=1 exec '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "reconciler"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	os.MkdirAll(filepath.Join(store, "2.0"), 0o755)
	build := t.TempDir()
	binary, config := filepath.Join(build, "web"), filepath.Join(build, "web.json")
	os.WriteFile(binary, []byte("#!/bin/sh\necho web 2.0\n"), 0o755)
	os.WriteFile(config, []byte(`{"listen": "127.0.0.1:0"}`), 0o644)
	key, pub := gittest.NewSSHKey(t)
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	os.WriteFile(signers, []byte("ci@example.com "+string(ssh.MarshalAuthorizedKey(pub))), 0o644)

	cmd := exec.Command("sh", "../../deploy-repo-example/ci/deploy.sh", "2.0", binary, config)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ARTIFACT_STORE=file://"+store,
		"RECONCILER_REPO="+r.url("file"), "RECONCILER_SIGN_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ci/deploy.sh: %v\n%s", err, out)
	}
	if got := r.git("log", "-1", "--format=%s", "main"); got != "web: 1.0 -> 2.0" {
		t.Errorf("the CI's commit: %q", got)
	}
	file := r.show("web/current.conf")
	if !strings.Contains(file, "file://"+store+"/2.0/web-linux-amd64") || !strings.Contains(file, `"cfg": {`) {
		t.Errorf("web/current.conf after the CI job:\n%s", file)
	}
	dir := t.TempDir()
	mustSync(t, r.url("file"), dir, "--verify-ssh-allowed-signers", signers)
	conf := readConf(t, dir)
	if conf["version"] != "2.0" {
		t.Fatalf("the agent applied %q, want 2.0", conf["version"])
	}
	if got, _ := os.ReadFile(conf["cfg.file"]); string(got) != `{"listen": "127.0.0.1:0"}` {
		t.Errorf("the agent's config: %q", got)
	}
}
