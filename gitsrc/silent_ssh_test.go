package gitsrc

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	xssh "golang.org/x/crypto/ssh"
)

// TestHeadSilentSSHServer: a server that accepts the SSH connection and
// never answers must not hang a poll past the timeout (go-git's SSH
// handshake ignores the context).
func TestHeadSilentSSHServer(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(gittest.SilentServer(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := u.Host
	keyFile, _ := gittest.NewSSHKey(t)
	auth, err := ssh.NewPublicKeysFromFile("git", keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	// The handshake never gets as far as the host key; checking it here
	// would need a key the silent server does not have.
	auth.HostKeyCallback = xssh.InsecureIgnoreHostKey()
	src, err := New(Options{URL: "ssh://git@" + addr + "/deploy.git", Timeout: 300 * time.Millisecond, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Head(context.Background())
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Head took %s against a silent SSH server, want about the 300ms timeout", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
}
