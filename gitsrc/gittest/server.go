package gittest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Handler serves every git repository under a root directory over git
// smart HTTP, with `git http-backend`, and counts what it answers. Only
// fetching is possible. The Git-Protocol header is passed to git as
// GIT_PROTOCOL, so clients that ask for protocol v2 get it. Like
// httptest's servers it needs no testing.TB: bench serves with it too.
type Handler struct {
	backend                                     cgi.Handler
	cfg                                         serveConfig
	refListings, adverts, uploadPacks, requests atomic.Int64
	bytesIn, bytesOut                           atomic.Int64 // counted by NewServer's listener
	advertised                                  atomic.Bool  // a v2 GET came since the last ls-refs
}

// Stats counts the requests the server has answered so far, and the bytes
// they cost.
type Stats struct {
	// RefListings counts answers that list refs: a GET .../info/refs in
	// protocol v0 (every ref) or a POST of the v2 ls-refs command.
	RefListings int64
	// Adverts counts GET .../info/refs in protocol v2, which the server
	// answers with its capabilities only.
	Adverts int64
	// UploadPacks counts POST .../git-upload-pack that negotiate objects
	// (v0, or the v2 fetch command).
	UploadPacks int64
	// Requests counts every request.
	Requests int64
	// BytesIn and BytesOut count what the server read from and wrote to
	// its clients' connections: the HTTP exchange whole, headers included
	// (zero for a Handler served by something other than NewServer).
	BytesIn, BytesOut int64
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	return Stats{
		RefListings: h.refListings.Load(), Adverts: h.adverts.Load(), UploadPacks: h.uploadPacks.Load(),
		Requests: h.requests.Load(), BytesIn: h.bytesIn.Load(), BytesOut: h.bytesOut.Load(),
	}
}

// ServeOption changes how a Handler serves.
type ServeOption func(*serveConfig)

type serveConfig struct {
	user, password string
	noV2           bool
	refuseLonePOST bool
	home           string // HOME of git http-backend; default: the root
}

// WithBasicAuth makes the server answer 401 unless the request carries these
// HTTP basic credentials.
func WithBasicAuth(user, password string) ServeOption {
	return func(c *serveConfig) { c.user, c.password = user, password }
}

// WithoutV2 drops the Git-Protocol header, as a proxy that does not pass
// it on (or a git older than 2.18) would: the server speaks protocol v0.
func WithoutV2() ServeOption {
	return func(c *serveConfig) { c.noV2 = true }
}

// RefuseLonePOST answers 400 to a v2 ls-refs POST that no v2 GET of
// info/refs preceded since the last one, as a server might that keeps
// state between the two requests.
func RefuseLonePOST() ServeOption {
	return func(c *serveConfig) { c.refuseLonePOST = true }
}

// withHome runs git http-backend with this HOME (a Repo's isolated one).
func withHome(home string) ServeOption {
	return func(c *serveConfig) { c.home = home }
}

// NewHandler serves the repositories under root (a repository at
// root/NAME is at /NAME). Git's own configuration is kept out: no system or
// global config, HOME is root unless a Repo gives its own.
func NewHandler(root string, opts ...ServeOption) (*Handler, error) {
	h := &Handler{cfg: serveConfig{home: root}}
	for _, o := range opts {
		o(&h.cfg)
	}
	gitExec, err := ExecPath()
	if err != nil {
		return nil, err
	}
	h.backend = cgi.Handler{
		Path: filepath.Join(gitExec, "git-http-backend"),
		Env: append(isolatedEnv(h.cfg.home),
			"GIT_PROJECT_ROOT="+root,
			"GIT_HTTP_EXPORT_ALL=1",
		),
		Stderr: io.Discard, // "Not a git repository" and the like: the client sees the status
	}
	return h, nil
}

// ServeHTTP answers one git smart-HTTP request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.requests.Add(1)
	if h.cfg.user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != h.cfg.user || p != h.cfg.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	if h.cfg.noV2 {
		req.Header.Del("Git-Protocol")
	}
	if !h.count(w, req) {
		return
	}
	b := h.backend // a copy per request: GIT_PROTOCOL is the request's
	if p := req.Header.Get("Git-Protocol"); p != "" {
		b.Env = append(slices.Clip(b.Env), "GIT_PROTOCOL="+p)
	}
	b.ServeHTTP(w, req)
}

// HTTPServer is a Handler listening on 127.0.0.1.
type HTTPServer struct {
	*Handler
	// URL is the server's http:// URL; for a Repo's server, the
	// repository's, without credentials.
	URL string

	hs *httptest.Server
}

// NewServer serves the repositories under root on 127.0.0.1 until Close.
// URL is the server's root: a repository root/NAME is at URL + "/NAME".
func NewServer(root string, opts ...ServeOption) (*HTTPServer, error) {
	h, err := NewHandler(root, opts...)
	if err != nil {
		return nil, err
	}
	hs := httptest.NewUnstartedServer(h)
	hs.Listener = &countingListener{Listener: hs.Listener, in: &h.bytesIn, out: &h.bytesOut}
	hs.Start()
	return &HTTPServer{Handler: h, URL: hs.URL, hs: hs}, nil
}

// Close stops the server and closes its connections.
func (s *HTTPServer) Close() { s.hs.Close() }

// ServeHTTP serves the repository over git smart HTTP on 127.0.0.1 (see
// Handler) until the test ends; URL is the repository's.
func (r *Repo) ServeHTTP(t testing.TB, opts ...ServeOption) *HTTPServer {
	t.Helper()
	srv, err := NewServer(filepath.Dir(r.Dir), append([]ServeOption{withHome(r.home)}, opts...)...)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	t.Cleanup(srv.Close)
	srv.URL += "/" + filepath.Base(r.Dir)
	return srv
}

// DropConnections closes every client connection, the idle kept-alive
// ones included, as a server whose keep-alive timeout passed does.
func (s *HTTPServer) DropConnections() { s.hs.CloseClientConnections() }

// count sorts the request into Stats; false when it was refused
// (RefuseLonePOST).
func (h *Handler) count(w http.ResponseWriter, req *http.Request) bool {
	v2 := strings.Contains(req.Header.Get("Git-Protocol"), "version=2")
	switch {
	case strings.HasSuffix(req.URL.Path, "/info/refs") && v2:
		h.adverts.Add(1)
		h.advertised.Store(true)
	case strings.HasSuffix(req.URL.Path, "/info/refs"):
		h.refListings.Add(1)
	case strings.HasSuffix(req.URL.Path, "/git-upload-pack"):
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		if !v2 || !bytes.HasPrefix(body, []byte("0014command=ls-refs\n")) {
			h.uploadPacks.Add(1)
			return true
		}
		if h.cfg.refuseLonePOST && !h.advertised.Swap(false) {
			http.Error(w, "ls-refs without a preceding advertisement", http.StatusBadRequest)
			return false
		}
		h.refListings.Add(1)
	}
	return true
}

// countingListener counts the bytes of every connection it accepts.
type countingListener struct {
	net.Listener
	in, out *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, in: l.in, out: l.out}, nil
}

type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

// Write counts the bytes before they leave, so a client that has read
// them finds them counted (counting after the write raced with it); what
// the write did not send is taken back.
func (c *countingConn) Write(p []byte) (int, error) {
	c.out.Add(int64(len(p)))
	n, err := c.Conn.Write(p)
	if n < len(p) {
		c.out.Add(int64(n - len(p)))
	}
	return n, err
}

// SilentServer listens on 127.0.0.1, accepts connections and never answers
// nor closes them, until the test ends. It returns an http:// repository URL
// on it, for testing that clients give up on time.
func SilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/deploy.git"
}

// RefusedURL returns an http:// repository URL on a 127.0.0.1 port that was
// just closed, so connecting is refused at once.
func RefusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	return "http://" + addr + "/deploy.git"
}

// ExecPath returns `git --exec-path`, where git-http-backend lives.
func ExecPath() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("git --exec-path: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
