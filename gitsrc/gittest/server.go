package gittest

import (
	"bytes"
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

// HTTPServer is a git smart-HTTP server for one Repo.
type HTTPServer struct {
	// URL is the http:// URL of the repository, without credentials.
	URL string

	hs                                          *httptest.Server
	refListings, adverts, uploadPacks, requests atomic.Int64
	bytesIn, bytesOut                           atomic.Int64
	advertised                                  atomic.Bool // a v2 GET came since the last ls-refs
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
	// its clients' connections: the HTTP exchange whole, headers included.
	BytesIn, BytesOut int64
}

// Stats returns the counts so far.
func (s *HTTPServer) Stats() Stats {
	return Stats{
		RefListings: s.refListings.Load(), Adverts: s.adverts.Load(), UploadPacks: s.uploadPacks.Load(),
		Requests: s.requests.Load(), BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
	}
}

// ServeOption changes how ServeHTTP serves.
type ServeOption func(*serveConfig)

type serveConfig struct {
	user, password string
	noV2           bool
	refuseLonePOST bool
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

// ServeHTTP serves the repository over git smart HTTP on 127.0.0.1 with
// `git http-backend`, until the test ends. Only fetching is possible. The
// Git-Protocol header is passed to git as GIT_PROTOCOL, so clients that ask
// for protocol v2 get it.
func (r *Repo) ServeHTTP(t testing.TB, opts ...ServeOption) *HTTPServer {
	t.Helper()
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	backend := cgi.Handler{
		Path: filepath.Join(execPath(t), "git-http-backend"),
		Env: append(isolatedEnv(r.home),
			"GIT_PROJECT_ROOT="+filepath.Dir(r.Dir),
			"GIT_HTTP_EXPORT_ALL=1",
		),
		Stderr: io.Discard, // "Not a git repository" and the like: the client sees the status
	}
	srv := &HTTPServer{}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		srv.requests.Add(1)
		if cfg.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != cfg.user || p != cfg.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		if cfg.noV2 {
			req.Header.Del("Git-Protocol")
		}
		if !srv.count(w, req, cfg) {
			return
		}
		h := backend // a copy per request: GIT_PROTOCOL is the request's
		if p := req.Header.Get("Git-Protocol"); p != "" {
			h.Env = append(slices.Clip(h.Env), "GIT_PROTOCOL="+p)
		}
		h.ServeHTTP(w, req)
	}))
	hs.Listener = &countingListener{Listener: hs.Listener, in: &srv.bytesIn, out: &srv.bytesOut}
	hs.Start()
	srv.hs = hs
	t.Cleanup(hs.Close)
	srv.URL = hs.URL + "/" + filepath.Base(r.Dir)
	return srv
}

// DropConnections closes every client connection, the idle kept-alive
// ones included, as a server whose keep-alive timeout passed does.
func (s *HTTPServer) DropConnections() { s.hs.CloseClientConnections() }

// count sorts the request into Stats; false when it was refused
// (RefuseLonePOST).
func (s *HTTPServer) count(w http.ResponseWriter, req *http.Request, cfg serveConfig) bool {
	v2 := strings.Contains(req.Header.Get("Git-Protocol"), "version=2")
	switch {
	case strings.HasSuffix(req.URL.Path, "/info/refs") && v2:
		s.adverts.Add(1)
		s.advertised.Store(true)
	case strings.HasSuffix(req.URL.Path, "/info/refs"):
		s.refListings.Add(1)
	case strings.HasSuffix(req.URL.Path, "/git-upload-pack"):
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		if !v2 || !bytes.HasPrefix(body, []byte("0014command=ls-refs\n")) {
			s.uploadPacks.Add(1)
			return true
		}
		if cfg.refuseLonePOST && !s.advertised.Swap(false) {
			http.Error(w, "ls-refs without a preceding advertisement", http.StatusBadRequest)
			return false
		}
		s.refListings.Add(1)
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

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
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

// execPath returns `git --exec-path`, where git-http-backend lives.
func execPath(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("gittest: git --exec-path: %v", err)
	}
	return strings.TrimSpace(string(out))
}
