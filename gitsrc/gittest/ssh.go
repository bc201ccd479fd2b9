package gittest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer is a git-over-SSH server for one Repo, on 127.0.0.1.
type SSHServer struct {
	// URL is the ssh:// URL of the repository:
	// ssh://git@127.0.0.1:PORT/<absolute path of Repo.Dir>.
	URL string
	// Addr is the server's address, "127.0.0.1:PORT".
	Addr string
	// HostKey is the server's public host key (ed25519, new per server).
	HostKey ssh.PublicKey
	// KnownHostsLine is the known_hosts line that trusts HostKey for Addr
	// ("[127.0.0.1]:PORT ssh-ed25519 AAAA..."), without a newline.
	KnownHostsLine string

	uploadPacks atomic.Int64
}

// UploadPacks counts the git-upload-pack commands the server has run so far.
func (s *SSHServer) UploadPacks() int64 { return s.uploadPacks.Load() }

// ServeSSH serves the repository over SSH on 127.0.0.1 until the test ends.
// The server accepts only public-key authentication with the authorized
// key (any user name), and only "exec" requests for git-upload-pack, which
// it answers by running the real `git upload-pack` on a repository under
// the Repo's parent directory; anything else is refused. Connections, git
// processes and goroutines end when the test does.
func (r *Repo) ServeSSH(t testing.TB, authorized ssh.PublicKey) *SSHServer {
	t.Helper()
	hostSigner := newSigner(t)
	want := authorized.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), want) {
				return nil, nil
			}
			return nil, errors.New("gittest: key not authorized")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	addr := ln.Addr().String()
	srv := &SSHServer{
		URL:            "ssh://git@" + addr + r.Dir,
		Addr:           addr,
		HostKey:        hostSigner.PublicKey(),
		KnownHostsLine: knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostSigner.PublicKey()),
	}
	// t.Context() is cancelled before the cleanup runs: that kills running
	// git processes.
	h := &sshHandler{repo: r, srv: srv, cfg: cfg, ctx: t.Context(), conns: map[net.Conn]bool{}}
	h.wg.Add(1)
	go h.accept(ln)
	t.Cleanup(func() {
		ln.Close()
		h.closeConns()
		h.wg.Wait()
	})
	return srv
}

// sshHandler holds one server's state; every goroutine it starts is counted
// in wg.
type sshHandler struct {
	repo *Repo
	srv  *SSHServer
	cfg  *ssh.ServerConfig
	ctx  context.Context // cancelled when the test ends
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (h *sshHandler) accept(ln net.Listener) {
	defer h.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // listener closed
		}
		if !h.track(c) {
			c.Close()
			return
		}
		h.wg.Add(1)
		go h.serveConn(c)
	}
}

// track remembers c for closing at the end; false once the server closed.
func (h *sshHandler) track(c net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = true
	return true
}

func (h *sshHandler) closeConns() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.conns {
		c.Close()
	}
}

func (h *sshHandler) serveConn(c net.Conn) {
	defer h.wg.Done()
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, h.cfg)
	if err != nil {
		return // failed handshake or authentication: the client sees why
	}
	defer sc.Close()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		h.wg.Add(1)
		go h.serveSession(ch, chReqs)
	}
}

// serveSession answers the first exec request of a session and closes it;
// other requests (env, pty-req, shell, ...) are refused.
func (h *sshHandler) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer h.wg.Done()
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			continue
		}
		req.Reply(true, nil)
		h.wg.Add(1)
		go func() { // later requests must still be answered
			defer h.wg.Done()
			for r := range reqs {
				r.Reply(false, nil)
			}
		}()
		status := h.exec(ch, payload.Command)
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// exec runs command with its stdin, stdout and stderr on ch and returns its
// exit status.
func (h *sshHandler) exec(ch ssh.Channel, command string) uint32 {
	dir, err := h.uploadPackDir(command)
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "fatal: %v\n", err)
		return 128
	}
	h.srv.uploadPacks.Add(1)
	cmd := exec.CommandContext(h.ctx, "git", "upload-pack", dir)
	cmd.Env = isolatedEnv(h.repo.home)
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	cmd.WaitDelay = time.Second // a killed upload-pack's children may hold its stdout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "fatal: %v\n", err)
		return 128
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "fatal: %v\n", err)
		return 128
	}
	// Copy by hand: with cmd.Stdin = ch, Wait would also wait for the
	// client to close its side, which it does only after the exit status.
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return uint32(exitErr.ExitCode())
	}
	return 128
}

// uploadPackDir parses "git-upload-pack '<path>'" (git's quoting) and
// returns the repository it names, which must lie under the Repo's parent
// directory. A relative path is taken from there.
func (h *sshHandler) uploadPackDir(command string) (string, error) {
	prog, arg, _ := strings.Cut(command, " ")
	if prog != "git-upload-pack" {
		return "", fmt.Errorf("gittest: only git-upload-pack is served, not %q", prog)
	}
	path, err := shellUnquote(arg)
	if err != nil {
		return "", err
	}
	root := filepath.Dir(h.repo.Dir)
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	path = filepath.Clean(path)
	if rel, err := filepath.Rel(root, path); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		// git's own words, which clients recognise as "repository not found"
		return "", fmt.Errorf("'%s' does not appear to be a git repository", path)
	}
	return path, nil
}

// shellUnquote undoes git's sq_quote: the path in single quotes, each quote
// in it written as quote, backslash, quote, quote; each '!' likewise.
func shellUnquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", fmt.Errorf("gittest: path %q is not single-quoted", s)
	}
	inner := s[1 : len(s)-1]
	inner = strings.ReplaceAll(inner, `'\''`, `'`)
	inner = strings.ReplaceAll(inner, `'\!'`, `!`)
	if strings.Contains(inner, "'") {
		return "", fmt.Errorf("gittest: path %q is badly quoted", s)
	}
	return inner, nil
}

// NewSSHKey generates an ed25519 key pair, writes the private key without a
// passphrase to a new file (mode 0600) in OpenSSH PEM format ("-----BEGIN
// OPENSSH PRIVATE KEY-----", as ssh-keygen writes it), and returns the
// file's path and the public key.
func NewSSHKey(t testing.TB) (keyFile string, pub ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "gittest")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	return keyFile, signer.PublicKey()
}

// newSigner returns a new ed25519 signer, for host keys.
func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	return signer
}
