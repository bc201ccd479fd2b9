package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// OpenSSHServer is the real OpenSSH sshd serving a Repo on 127.0.0.1: every
// connection is handed to its own `sshd -i` (inetd mode), so there is no
// daemon to start or stop, and the bytes of each connection are counted.
type OpenSSHServer struct {
	// URL is ssh://USER@127.0.0.1:PORT/<absolute path of Repo.Dir>, USER
	// being the user the test runs as.
	URL string
	// KnownHostsLine trusts the server's host key for its address.
	KnownHostsLine string

	conns, bytesIn, bytesOut atomic.Int64
}

// SSHStats counts an OpenSSHServer's connections and their bytes (read
// from and written to the clients, the SSH handshake included).
type SSHStats struct {
	Conns, BytesIn, BytesOut int64
}

// Stats returns the counts so far.
func (s *OpenSSHServer) Stats() SSHStats {
	return SSHStats{Conns: s.conns.Load(), BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load()}
}

// SSHDPath returns the sshd binary, or "" if OpenSSH's server is not
// installed (tests then skip).
func SSHDPath() string {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("sshd")
	return p
}

// ServeOpenSSH serves the repository with OpenSSH's sshd, as the current
// user, allowing only the authorized key. With acceptEnv the server has
// "AcceptEnv GIT_PROTOCOL", so git-upload-pack speaks protocol v2 to a
// client that asks; without it the request is refused and git speaks v0.
// git runs with the system and global configuration ignored. The test is
// skipped if sshd is not installed or the user cannot run it (sshd -i needs
// root to switch to the user's session).
func (r *Repo) ServeOpenSSH(t testing.TB, authorized ssh.PublicKey, acceptEnv bool) *OpenSSHServer {
	t.Helper()
	sshd := SSHDPath()
	if sshd == "" {
		t.Skip("no OpenSSH sshd installed (apt-get install openssh-server)")
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd -i as a non-root user cannot open sessions")
	}
	me, err := user.Current()
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	dir := t.TempDir()
	hostKey := writeHostKey(t, dir)
	must(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(authorized), 0o600))
	conf := filepath.Join(dir, "sshd_config")
	must(t, os.WriteFile(conf, []byte(sshdConfig(dir, acceptEnv)), 0o600))
	// sshd refuses to start without its privilege separation directory.
	must(t, os.MkdirAll("/run/sshd", 0o755))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	addr := ln.Addr().String()
	srv := &OpenSSHServer{
		URL:            "ssh://" + me.Username + "@" + addr + r.Dir,
		KnownHostsLine: knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv.conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.serve(t, sshd, conf, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return srv
}

// serve runs `sshd -i` on one connection until it ends or the test does.
func (s *OpenSSHServer) serve(t testing.TB, sshd, conf string, c net.Conn) {
	defer c.Close()
	cc := &countingConn{Conn: c, in: &s.bytesIn, out: &s.bytesOut}
	cmd := exec.CommandContext(t.Context(), sshd, "-i", "-e", "-f", conf)
	cmd.Stdin, cmd.Stdout = cc, cc
	cmd.WaitDelay = time.Second // the session's children may hold the connection
	_ = cmd.Run()
}

func sshdConfig(dir string, acceptEnv bool) string {
	lines := []string{
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile none",
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"LogLevel ERROR",
		"SetEnv GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null",
	}
	if acceptEnv {
		lines = append(lines, "AcceptEnv GIT_PROTOCOL")
	}
	return strings.Join(lines, "\n") + "\n"
}

// writeHostKey writes a new ed25519 host key in OpenSSH format (mode 0600,
// as sshd requires) and returns its public half.
func writeHostKey(t testing.TB, dir string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "gittest host")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "host_ed25519"), pem.EncodeToMemory(block), 0o600))
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	return key
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
}
