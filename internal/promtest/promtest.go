// Package promtest runs a real Prometheus (the prometheus binary) on
// 127.0.0.1 for tests, and serves small real /metrics endpoints for it to
// scrape: agents reporting a rollout, and any gauge a check may read
// (Agent, one endpoint per agent), or a whole simulated fleet's rollout
// series on one endpoint (Hosts). As in testkit, the parts that do not
// need a testing.TB (Start, NewAgent, NewHosts) can serve a demo or a
// benchmark too.
//
// Prometheus runs with its own temporary storage and configuration, a 1 s
// scrape interval and static targets. New fails the test when the CI
// environment variable is set and no prometheus binary is installed, and
// skips it otherwise (apt-get install prometheus).
package promtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// Options configure a Prometheus.
type Options struct {
	// Targets are the host:port addresses scraped at /metrics, by job name.
	Targets map[string][]string
	// ScrapeInterval is also the rule evaluation interval; 0 means 1 s.
	ScrapeInterval time.Duration
}

// Server is a running Prometheus.
type Server struct {
	// URL is its HTTP API's base, http://127.0.0.1:PORT.
	URL  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *testkit.SyncBuffer
}

// Binary returns the prometheus binary, or "" when none is installed.
func Binary() string { return testkit.FindBinary("prometheus", "/usr/bin/prometheus") }

// Start runs Prometheus with its storage and configuration in dir (which
// must exist) and returns once it is ready to answer queries. Close it.
func Start(ctx context.Context, dir string, o Options) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, errors.New("no prometheus binary installed (apt-get install prometheus)")
	}
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, config(o), 0o644); err != nil {
		return nil, err
	}
	return testkit.Retry(func() (*Server, error) { return start(ctx, bin, dir, conf) })
}

func start(ctx context.Context, bin, dir, conf string) (*Server, error) {
	addr, err := testkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + addr, done: make(chan struct{}), log: &testkit.SyncBuffer{}}
	s.cmd = exec.Command(bin,
		"--config.file="+conf,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = sysProcAttr() // gone with the test binary, even after a panic
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady polls /-/ready until Prometheus answers 200.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := testkit.WaitReady(ctx, s.URL+"/-/ready", 50*time.Millisecond, s.done, func(res *http.Response) bool {
		return res.StatusCode == http.StatusOK
	})
	switch {
	case errors.Is(err, testkit.ErrExited):
		return fmt.Errorf("prometheus exited before it was ready: %s", s.Log())
	case err != nil:
		return fmt.Errorf("prometheus not ready at %s: %w; its log: %s", s.URL, err, s.Log())
	}
	return nil
}

// Log is what Prometheus has written so far (warnings and errors).
func (s *Server) Log() string { return s.log.String() }

// Close stops Prometheus (SIGTERM, then SIGKILL after 10 s) and waits
// for it.
func (s *Server) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// config is prometheus.yml for o.
func config(o Options) []byte {
	every := o.ScrapeInterval
	if every == 0 {
		every = time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\nscrape_configs:\n", every, every, every)
	jobs := make([]string, 0, len(o.Targets))
	for j := range o.Targets {
		jobs = append(jobs, j)
	}
	slices.Sort(jobs)
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [", j)
		for i, t := range o.Targets[j] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", t)
		}
		b.WriteString("]\n")
	}
	return []byte(b.String())
}

// New starts a Prometheus for the test, stopped when it ends. Without a
// prometheus binary the test fails when CI is set (CI must run it), and
// is skipped otherwise.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	s, err := Start(t.Context(), t.TempDir(), o)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", s.Log())
		}
	})
	return s
}

// Require fails the test when the CI environment variable is set and no
// prometheus binary is installed (CI must run it), and skips it when
// neither is; for tests that start Prometheus some other way (a demo).
func Require(t testing.TB) {
	t.Helper()
	testkit.RequireBinary(t, Binary(), "prometheus", "apt-get install prometheus")
}

// WaitUp waits until Prometheus has scraped n targets successfully (up is
// 1 for n of them), or ctx ends.
func (s *Server) WaitUp(ctx context.Context, n int) error {
	c, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		return err
	}
	prom := v1.NewAPI(c)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		v, _, _, err := prom.Query(ctx, "count(up == 1)", time.Time{})
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 && int(vec[0].Value) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d targets up in %s: %w (last answer %v, %v)", n, s.URL, ctx.Err(), v, err)
		case <-tick.C:
		}
	}
}
