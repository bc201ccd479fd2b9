package gitsrc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/net/proxy"
)

// Over SSH and file:// the client asks for protocol v2 by setting
// GIT_PROTOCOL=version=2 in git-upload-pack's environment (an SSH "env"
// request, which OpenSSH honours only with "AcceptEnv GIT_PROTOCOL"). The
// server's first message then says which version it speaks: v2
// capabilities, after which one ls-refs command on the same connection
// lists the followed ref; or the v0 advertisement, which is the listing
// (today's cost). go-git v5's SSH transport cannot set the environment, so
// the SSH connection is made here with the same auth, host key check,
// ssh_config host and port, proxy and dial timeout as go-git's.

// upload is a running git-upload-pack: its stdout and stdin, and how to
// end it. Its exit status does not matter once its answer has been read.
type upload struct {
	out   io.Reader
	in    io.WriteCloser
	close func()
}

// streamConn is a v2 session on a running upload-pack: its commands
// follow one another on the one connection.
type streamConn struct {
	u    *upload
	caps caps
}

// openStream reads the advertisement of a started upload-pack. A v0
// server's advertisement is returned as v0 (conn is nil), and the upload
// is ended; otherwise the caller closes conn.
func openStream(u *upload) (conn *streamConn, v0 map[string]plumbing.Hash, err error) {
	adv, err := readAdvertisement(u.out)
	switch {
	case err == nil && adv.v2 != nil:
		return &streamConn{u: u, caps: adv.v2}, nil, nil
	case err == nil:
		_, _ = io.WriteString(u.in, "0000") // v0: we want nothing
	case !errors.Is(err, errEmptyRepo) && !errors.Is(err, errTooLarge):
		err = fmt.Errorf("%w: %w", errDoubt, err)
	}
	u.close()
	return nil, adv.v0OrNil(), err
}

func (c *streamConn) lsRefs(ctx context.Context, prefixes []string) (map[string]plumbing.Hash, error) {
	r, err := c.command(ctx, lsRefsRequest(c.caps, prefixes))
	if err != nil {
		return nil, err
	}
	refs, err := readLsRefs(r)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, err // not a doubt: go-git's listing would read it all
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errDoubt, err)
	}
	return refs, nil
}

func (c *streamConn) command(_ context.Context, req []byte) (io.Reader, error) {
	if _, err := c.u.in.Write(req); err != nil {
		return nil, fmt.Errorf("%w: send command: %w", errDoubt, err)
	}
	return c.u.out, nil
}

func (c *streamConn) serverCaps() caps { return c.caps }

// close ends the session: a flush instead of a further command.
func (c *streamConn) close() {
	_, _ = io.WriteString(c.u.in, "0000")
	c.u.close()
}

// startUpload starts git-upload-pack for a file:// or ssh:// Source
// (errDoubt for other transports).
func (s *Source) startUpload(ctx context.Context) (*upload, error) {
	ep, err := transport.NewEndpoint(s.url)
	if err != nil {
		return nil, errDoubt
	}
	switch ep.Protocol {
	case "file":
		return startFile(ctx, ep.Path)
	case "ssh":
		return startSSH(ctx, ep, s.auth)
	}
	return nil, errDoubt
}

// startFile runs git-upload-pack on a local repository (file:// or a
// path) with GIT_PROTOCOL=version=2, in the agent's environment as go-git
// runs it. It ends when ctx does.
func startFile(ctx context.Context, path string) (*upload, error) {
	cmd := exec.CommandContext(ctx, "git", "upload-pack", path)
	cmd.Env = append(os.Environ(), "GIT_PROTOCOL=version=2")
	cmd.WaitDelay = time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &upload{out: bufio.NewReaderSize(out, 64<<10), in: in, close: func() {
		in.Close()
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}}, nil
}

// startSSH connects to ep and starts git-upload-pack there, asking for
// protocol v2. It returns errDoubt for what only go-git handles (no
// AuthMethod of go-git's SSH kind, no host key callback). The connection
// is closed when ctx ends, so a silent server cannot hold the poll.
func startSSH(ctx context.Context, ep *transport.Endpoint, auth transport.AuthMethod) (*upload, error) {
	a, ok := auth.(gitssh.AuthMethod)
	if !ok {
		return nil, errDoubt
	}
	cfg, err := a.ClientConfig()
	if err != nil {
		return nil, err
	}
	if cfg.HostKeyCallback == nil {
		return nil, errDoubt
	}
	addr := sshAddr(ep)
	conn, err := dialSSH(ctx, addr, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	client := ssh.NewClient(c, chans, reqs)
	u, err := startSession(client, ep.Path)
	if err != nil {
		client.Close()
		return nil, err
	}
	u.close = func() {
		stop()
		u.in.Close()
		client.Close()
	}
	return u, nil
}

func startSession(client *ssh.Client, path string) (*upload, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	// Refused unless the server accepts the variable: it then speaks v0.
	_ = sess.Setenv("GIT_PROTOCOL", "version=2")
	in, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Start("git-upload-pack " + shellQuote(path)); err != nil {
		return nil, err
	}
	// Buffered: x/crypto/ssh sends a window adjustment for every read, and
	// the answer is read a pkt-line header at a time.
	return &upload{out: bufio.NewReaderSize(out, 64<<10), in: in}, nil
}

// dialSSH dials addr through the proxy of the environment (ALL_PROXY), as
// go-git does, within timeout (the auth's dial timeout) and ctx.
func dialSSH(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return proxy.Dial(ctx, "tcp", addr)
}

// sshAddr is the host:port go-git dials for ep: ssh_config's Hostname and
// Port for the host if it names one, else the URL's host and port (22).
func sshAddr(ep *transport.Endpoint) string {
	host, port := ep.Host, ep.Port
	if gitssh.DefaultSSHConfig != nil {
		if h := gitssh.DefaultSSHConfig.Get(ep.Host, "Hostname"); h != "" {
			host = h
			if p, err := strconv.Atoi(gitssh.DefaultSSHConfig.Get(ep.Host, "Port")); err == nil {
				port = p
			}
		}
	}
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// shellQuote quotes a path for the remote shell as git (and go-git) do:
// in single quotes, each ' and ! closed, escaped and reopened.
func shellQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range []byte(s) {
		if c == '\'' || c == '!' {
			b.WriteString(`'\` + string(c) + `'`)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}
