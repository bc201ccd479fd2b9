package gittest

import (
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// HTTPServer is a git smart-HTTP server for one Repo.
type HTTPServer struct {
	// URL is the http:// URL of the repository, without credentials.
	URL string

	refListings atomic.Int64
	uploadPacks atomic.Int64
}

// Stats counts the requests the server has answered so far.
type Stats struct {
	// RefListings counts GET .../info/refs: ref advertisements, which
	// transfer no objects.
	RefListings int64
	// UploadPacks counts POST .../git-upload-pack: negotiations that
	// transfer objects.
	UploadPacks int64
}

// Stats returns the request counts so far.
func (s *HTTPServer) Stats() Stats {
	return Stats{RefListings: s.refListings.Load(), UploadPacks: s.uploadPacks.Load()}
}

// ServeOption changes how ServeHTTP serves.
type ServeOption func(*serveConfig)

type serveConfig struct {
	user, password string
}

// WithBasicAuth makes the server answer 401 unless the request carries these
// HTTP basic credentials.
func WithBasicAuth(user, password string) ServeOption {
	return func(c *serveConfig) { c.user, c.password = user, password }
}

// ServeHTTP serves the repository over git smart HTTP on 127.0.0.1 with
// `git http-backend`, until the test ends. Only fetching is possible.
func (r *Repo) ServeHTTP(t testing.TB, opts ...ServeOption) *HTTPServer {
	t.Helper()
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(execPath(t), "git-http-backend"),
		Env: append(isolatedEnv(r.home),
			"GIT_PROJECT_ROOT="+filepath.Dir(r.Dir),
			"GIT_HTTP_EXPORT_ALL=1",
		),
		Stderr: io.Discard, // "Not a git repository" and the like: the client sees the status
	}
	srv := &HTTPServer{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if cfg.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != cfg.user || p != cfg.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		switch {
		case strings.HasSuffix(req.URL.Path, "/info/refs"):
			srv.refListings.Add(1)
		case strings.HasSuffix(req.URL.Path, "/git-upload-pack"):
			srv.uploadPacks.Add(1)
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(hs.Close)
	srv.URL = hs.URL + "/" + filepath.Base(r.Dir)
	return srv
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
