package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/pflag"
)

// handOverFlags say whether sync, resume and retry wait for the running
// agent's pass, and how long.
type handOverFlags struct {
	Wait   time.Duration
	NoWait bool
}

func (h *handOverFlags) add(fs *pflag.FlagSet) {
	fs.DurationVar(&h.Wait, "wait", 10*time.Minute, "when an agent runs on --dir: how long to wait for its pass (a pass may download, switch, health-check and bake)")
	fs.BoolVar(&h.NoWait, "no-wait", false, "when an agent runs on --dir: hand the request over and exit 0 without waiting for its pass")
}

// errAgentGone is a request whose agent stopped, or let go of the
// directory, before answering: the command does the work itself.
var errAgentGone = errors.New("the agent stopped before answering")

// handOver hands req to the agent (pid) that runs on layout's directory
// and, unless --no-wait, waits for the answer of the pass that takes it.
// answered is false with --no-wait. It polls for the answer (a file) and
// for the agent (its lock) every pollEvery. An agent that stops before it
// answers leaves the request to the command (errAgentGone), or to the next
// agent on the directory (systemd starting it again): one that took the
// request with it is handed a new one.
func handOver(ctx context.Context, layout reconcile.Layout, pid int, req reconcile.Request, h handOverFlags) (a reconcile.Answer, answered bool, err error) {
	r, err := layout.HandOver(req)
	if err != nil || h.NoWait {
		return a, false, err
	}
	deadline := time.NewTimer(h.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if a, ok, err := layout.AnswerTo(r.ID); ok || err != nil {
			return a, ok, err
		}
		now, running := layout.RunningAgent()
		if a, ok, err := layout.AnswerTo(r.ID); ok || err != nil { // answered, then stopped
			return a, ok, err
		}
		switch {
		case !running:
			layout.Withdraw(r.ID)
			return a, false, errAgentGone
		case now != pid && !layout.Waiting(r.ID): // taken by the agent that went
			if r, err = layout.HandOver(req); err != nil {
				return a, false, err
			}
		}
		pid = now
		select {
		case <-ctx.Done():
			return a, false, fmt.Errorf("%s: stopped waiting for the agent (pid %d); the request stays with it: `reconciler status --dir %s` shows its pass", layout.Dir, pid, layout.Dir)
		case <-deadline.C:
			return a, false, fmt.Errorf("%s: the agent (pid %d) did not answer within --wait %s; the request stays with it: `reconciler status --dir %s` shows its pass", layout.Dir, pid, h.Wait, layout.Dir)
		case <-tick.C:
		}
	}
}

// pollEvery is how often a command waiting for the agent looks for its
// answer: a pass takes a second at least, a person notices nothing.
const pollEvery = 100 * time.Millisecond

// runningAgent returns the pid of the agent running on dir, if one runs
// and takes requests (a `sync` or `watch` holding the lock takes none).
func runningAgent(dir string) (reconcile.Layout, int, bool) {
	layout, err := reconcile.NewLayout(dir)
	if err != nil {
		return layout, 0, false
	}
	pid, ok := layout.RunningAgent()
	return layout, pid, ok
}

// outcome prints the agent's answer as a sync of its own would print its
// pass (stdout on success, the error otherwise), with the same exit code.
func outcome(stdout io.Writer, dir string, a reconcile.Answer) error {
	if a.Error == "" {
		fmt.Fprintf(stdout, "%s: version %s at %s (%s by the running agent, pid %d)\n", dir, a.Version, gitrev.Short(a.Rev), a.Result, a.PID)
		return nil
	}
	err := fmt.Errorf("%s (the running agent's pass, pid %d)", a.Error, a.PID)
	if a.Result == reconcile.PollDeferred {
		err = fmt.Errorf("%w; `reconciler sync --ignore-windows` deploys it now (for an emergency)", err)
	}
	return err
}

// handedOver says what --no-wait did.
func handedOver(stdout io.Writer, dir string, pid int) {
	fmt.Fprintf(stdout, "%s: handed to the running agent (pid %d); `reconciler status --dir %s` shows its pass\n", dir, pid, dir)
}
