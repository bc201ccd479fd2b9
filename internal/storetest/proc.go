package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// proc is a server process in its own process group.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *testkit.SyncBuffer
}

func startProc(dir, bin string, args ...string) (*proc, error) {
	p := &proc{done: make(chan struct{}), log: &testkit.SyncBuffer{}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// Kill ends the server at once (SIGKILL to its group) and waits for it:
// a store gone mid-download.
func (p *proc) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Log is what the server wrote so far.
func (p *proc) Log() string { return p.log.String() }

// waitHTTP polls url until it answers with one of codes, the process
// exits, or 30 s pass.
func (p *proc) waitHTTP(ctx context.Context, client *http.Client, url string, codes ...int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			for _, c := range codes {
				if resp.StatusCode == c {
					return nil
				}
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %s", p.cmd.Path, p.Log())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w; its log: %s", p.cmd.Path, url, ctx.Err(), p.Log())
		case <-tick.C:
		}
	}
}

// require fails the test when CI is set and bin is missing (CI must run
// it: .ci/run installs it), and skips it otherwise.
func require(t testing.TB, bin, install string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s is not installed (%s; .ci/run does it)", bin, install)
	}
	t.Skipf("%s is not installed (%s)", bin, install)
}

var errNotInstalled = errors.New("not installed")
