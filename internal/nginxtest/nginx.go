package nginxtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// Zone is the cache zone the snippet uses (proxy_cache git_ls_refs).
const Zone = "git_ls_refs"

// Options configure an nginx.
type Options struct {
	// Upstream is the git server's host:port (127.0.0.1 only).
	Upstream string
	// Cache includes the snippet (SnippetPath); without it nginx only
	// proxies, the same way, so the two differ by the cache alone.
	Cache bool
}

// Server is a running nginx.
type Server struct {
	// URL is its http://127.0.0.1:PORT.
	URL  string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // its Wait's, valid after done
}

// Binary returns the nginx binary, or "" when none is installed.
func Binary() string { return testkit.FindBinary("nginx", "/usr/sbin/nginx") }

// SnippetPath is docs/nginx/git-cache.conf of this source tree: the file
// the README quotes.
func SnippetPath() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "docs", "nginx", "git-cache.conf")
}

// Start runs nginx until Close, and returns once it answers. It tries a
// few ports: one free a moment ago may be taken by now.
func Start(ctx context.Context, o Options) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, errors.New("no nginx binary installed (apt-get install nginx)")
	}
	return testkit.Retry(func() (*Server, error) { return start(ctx, bin, o) })
}

func start(ctx context.Context, bin string, o Options) (*Server, error) {
	addr, err := testkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	dir, cred, err := makeDir()
	if err != nil {
		return nil, err
	}
	conf, err := writeConfig(dir, addr, o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := chownTree(dir, cred); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	cmd := exec.Command(bin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		log := s.Log()
		s.Close()
		return nil, fmt.Errorf("nginx on %s: %w; error log:\n%s", addr, err, log)
	}
	return s, nil
}

// makeDir makes nginx's directory. Run as root, nginx runs as nobody: the
// directory is made under the system's temporary directory (a test's
// t.TempDir is under directories only root may enter) and given to
// nobody by chownTree once written.
func makeDir() (string, *syscall.Credential, error) {
	dir, err := os.MkdirTemp("", "nginxtest-")
	if err != nil {
		return "", nil, err
	}
	if os.Geteuid() != 0 {
		return dir, nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("run nginx as nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func chownTree(dir string, c *syscall.Credential) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.Uid), int(c.Gid))
	})
}

// waitReady polls until nginx answers (any status) or exits.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := testkit.WaitReady(ctx, s.URL+"/_nginxtest_ready", 20*time.Millisecond, s.done, func(res *http.Response) bool {
		return strings.HasPrefix(res.Header.Get("Server"), "nginx")
	})
	if errors.Is(err, testkit.ErrExited) {
		return fmt.Errorf("nginx exited: %v", s.err)
	}
	return err
}

// Log returns nginx's error log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	return string(b)
}

// PID is the nginx master's.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops nginx (SIGQUIT to its process group, SIGKILL after 5 s),
// waits for it and removes its directory.
func (s *Server) Close() error {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	return os.RemoveAll(s.dir)
}

// New starts nginx for the test, stopped when it ends. Without an nginx
// binary the test fails when CI is set (CI must run it), and is skipped
// otherwise.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", s.Log())
		}
		_ = s.Close()
	})
	return s
}

// Require fails the test when the CI environment variable is set and no
// nginx is installed (CI must run it), and skips it when neither is.
func Require(t testing.TB) {
	t.Helper()
	testkit.RequireBinary(t, Binary(), "nginx", "apt-get install nginx")
}
