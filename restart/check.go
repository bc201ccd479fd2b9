package restart

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Per-attempt bounds of the checks; the health deadline bounds them too.
const (
	cmdTimeout  = 10 * time.Second
	tcpTimeout  = 2 * time.Second
	cmdOutMax   = 4 << 10 // output kept of a health command: its tail
	cmdOutLines = 5       // lines of a command's output quoted in an error
)

// target is the switch the checks judge, as the health command's
// environment tells it.
type target struct {
	appdir.Target        // Cfg is never "": the config app.cfg points at
	from          string // the binary switched from; "" on a first start
}

// env is what a health command gets on top of the process's environment.
func (s *Switcher) env(t target) []string { return appdir.Env(s.Dir, t.from, t.Target) }

// checks runs once every health check that is configured (URL, TCP,
// command); nil means all passed.
func (s *Switcher) checks(ctx context.Context, client *http.Client, t target) error {
	if s.HealthURL != "" {
		if err := checkHealth(ctx, client, s.HealthURL); err != nil {
			return err
		}
	}
	if s.HealthTCP != "" {
		if err := checkTCP(ctx, s.HealthTCP); err != nil {
			return err
		}
	}
	if s.HealthCmd != "" {
		return checkCmd(ctx, s.Dir, s.HealthCmd, s.env(t))
	}
	return nil
}

// checkTCP connects to addr once; nil means it accepted.
func checkTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, tcpTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("health check tcp %s: %w", addr, err)
	}
	return conn.Close()
}

// checkCmd runs cmdline once as a health check (see command.run); its
// last lines of output are quoted in the error.
func checkCmd(ctx context.Context, dir, cmdline string, env []string) error {
	out := &tailWriter{max: cmdOutMax}
	why := fmt.Sprintf("at the deadline (%s per attempt, or the health deadline)", cmdTimeout)
	err := command{dir: dir, line: cmdline, env: env, timeout: cmdTimeout, out: out, deadline: why, ended: why}.run(ctx)
	if err == nil {
		return nil
	}
	return fmt.Errorf("health command %q: %w%s", cmdline, err, out.tail())
}
