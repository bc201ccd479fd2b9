package gittest_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// TestServeSSHWithOpenSSH: git and OpenSSH's ssh, with strict host key
// checking against KnownHostsLine, list and clone the repository.
func TestServeSSHWithOpenSSH(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client:", err)
	}
	r := gittest.NewRepo(t)
	r.WriteFile("f.txt", []byte("hello"))
	c := r.Commit("first")
	key, pub := gittest.NewSSHKey(t)
	srv := r.ServeSSH(t, pub)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(srv.KnownHostsLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), "git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_SSH_COMMAND="+
			"ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes"+
			" -o UserKnownHostsFile="+kh+" -o GlobalKnownHostsFile=/dev/null -i "+key)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: stderr.Bytes()}
		}
		return string(out), nil
	}
	out, err := git("ls-remote", srv.URL)
	if err != nil || !strings.Contains(out, c+"\trefs/heads/main") {
		t.Fatalf("git ls-remote %s: %q, %v (%s); want %s refs/heads/main", srv.URL, out, err, stderrOf(err), c)
	}
	dst := filepath.Join(t.TempDir(), "clone")
	if _, err := git("clone", "-q", srv.URL, dst); err != nil {
		t.Fatalf("git clone: %v (%s)", err, stderrOf(err))
	}
	if data, err := os.ReadFile(filepath.Join(dst, "f.txt")); err != nil || string(data) != "hello" {
		t.Fatalf("cloned f.txt: %q, %v; want %q", data, err, "hello")
	}
	if got := srv.UploadPacks(); got != 2 {
		t.Errorf("UploadPacks = %d, want 2", got)
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// TestServeSSHRefuses: other keys, other commands and paths outside the
// served directory are refused.
func TestServeSSHRefuses(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	r.Commit("first")
	key, pub := gittest.NewSSHKey(t)
	srv := r.ServeSSH(t, pub)

	other, _ := gittest.NewSSHKey(t)
	if _, err := dialSSH(t, srv, other); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("dial with an unauthorized key: %v, want unable to authenticate", err)
	}

	client, err := dialSSH(t, srv, key)
	if err != nil {
		t.Fatalf("dial with the authorized key: %v", err)
	}
	defer client.Close()
	for _, tc := range []struct{ cmd, wantErr string }{
		{"git-receive-pack '" + r.Dir + "'", "only git-upload-pack"},
		{"sh -c id", "only git-upload-pack"},
		{"git-upload-pack '/etc'", "does not appear to be a git repository"},
		{"git-upload-pack '" + r.Dir + "/../../x'", "does not appear to be a git repository"},
		{"git-upload-pack " + r.Dir, "not single-quoted"},
	} {
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		sess.Stderr = &stderr
		err = sess.Run(tc.cmd)
		var exit *ssh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() == 0 || !strings.Contains(stderr.String(), tc.wantErr) {
			t.Errorf("%s: %v, stderr %q; want a non-zero exit status and %q", tc.cmd, err, stderr.String(), tc.wantErr)
		}
	}
	if got := srv.UploadPacks(); got != 0 {
		t.Errorf("UploadPacks = %d, want 0", got)
	}
}

// dialSSH connects to srv with the key, trusting only srv.HostKey. The
// caller closes the client.
func dialSSH(t *testing.T, srv *gittest.SSHServer, keyFile string) (*ssh.Client, error) {
	t.Helper()
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", srv.Addr, &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(srv.HostKey),
		Timeout:         5 * time.Second,
	})
	return client, err
}

// TestServeSSHCleanup: when the test ends, the server's goroutines end,
// even with a client connection left open. (Not parallel: it counts
// goroutines.)
func TestServeSSHCleanup(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("serve", func(t *testing.T) {
		r := gittest.NewRepo(t)
		r.Commit("first")
		key, pub := gittest.NewSSHKey(t)
		srv := r.ServeSSH(t, pub)
		client, err := dialSSH(t, srv, key) // left open: the server's cleanup must cope
		if err != nil {
			t.Fatal(err)
		}
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		// An upload-pack left waiting for the client's wants.
		stdout, err := sess.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("git-upload-pack '" + r.Dir + "'"); err != nil {
			t.Fatal(err)
		}
		if _, err := stdout.Read(make([]byte, 4)); err != nil {
			t.Fatalf("reading the ref advertisement: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after the server closed, want at most %d:\n%s",
				runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
