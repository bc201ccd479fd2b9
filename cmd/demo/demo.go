package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
	"github.com/spf13/cobra"
)

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		verbose bool
		fleet   bool
		workdir string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story on this machine: diff, deploy, bump, revert, a broken release, under load",
		Long: `demo shows reconciler end to end, on loopback only: it builds two versions of
the example app, serves them from a local artifact server, makes a deploy
repo from deploy-repo-example/, builds reconciler and starts its agent
(reconciler run, a child process) with a fast schedule and --health-bake 2s, and keeps a load loop on the app. It proposes a
version bump on a branch and prints what reconciler diff says it would do,
merges it, waits for the switch, runs git revert, waits for the rollback,
then commits a broken release (it dies a second after it starts) and shows
the agent switch back by itself and not try it again. It reports each
step's timing and how many requests failed during the switches, and exits 0
only if every step worked and no request failed. Needs Go and git.

With --fleet, a staged rollout instead: five agents (reconciler run
processes) with their own
--host-id, app directory and app port follow one bare deploy repo, and a
real Prometheus scrapes them. A person starts 2.0 at the canary;
reconciler promote (its code, in process, every half second) advances it
to 50%, then 100%, soaking 2s each, and finishes it, printing each
decision. Then 2.1, which dies a second after it starts: the canary's
agent switches back by itself, promote halts the rollout (on_halt revert),
every host is on 2.0 and only the canary ever ran 2.1. Last, the table of
reconciler fleet. Without a prometheus binary (apt-get install
prometheus) it says so and takes the same steps by hand, from the agents'
/status. About 30 seconds; exits 0 only if every step worked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fleet {
				return runFleetDemo(cmd.Context(), stdout, stderr,
					fleetOptions{workdir: workdir, verbose: verbose, prometheus: promtest.Binary() != ""})
			}
			return runDemo(cmd.Context(), stdout, stderr, workdir, verbose)
		},
	}
	cmd.Flags().BoolVar(&fleet, "fleet", false, "a staged rollout across five agents, moved on by promote from a real Prometheus")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the agent's logs")
	cmd.Flags().StringVar(&workdir, "workdir", "", "where to build the demo (default: a new temporary directory)")
	return cmd
}

// demo is one run of the story.
type demo struct {
	out      io.Writer
	ws       string // workspace
	appAddr  string
	artURL   string
	repo     *demoRepo
	appDir   string
	bin      string // the reconciler binary the demo built
	failures int
	start    time.Time

	agentDone chan struct{} // closed when the agent has stopped
	agentErr  error         // why, once agentDone is closed
}

func runDemo(ctx context.Context, stdout, stderr io.Writer, workdir string, verbose bool) error {
	ws, err := demoWorkspace(workdir)
	if err != nil {
		return err
	}
	d := &demo{out: stdout, ws: ws, appDir: filepath.Join(ws, "srv", "web"), start: time.Now()}
	d.say("reconciler demo, workspace %s", ws)
	defer d.cleanup()

	logw := io.Discard
	if verbose {
		logw = stderr
	} else if f, err := os.Create(filepath.Join(ws, "agent.log")); err == nil {
		defer f.Close()
		logw = f
	}
	if err := d.prepare(ctx); err != nil {
		return d.fail("prepare", err)
	}
	agentCtx, stopAgent := context.WithCancel(ctx)
	d.agentDone = make(chan struct{})
	go func() {
		d.agentErr = d.runAgent(agentCtx, logw)
		close(d.agentDone)
	}()
	defer func() { stopAgent(); <-d.agentDone }()

	if err := d.step(ctx, "first deploy of 1.0", "1.0", nil); err != nil {
		return d.fail("deploy", err)
	}
	load := loadgen.Start(ctx, loadgen.Options{URL: "http://" + d.appAddr + "/", Workers: 4, MaxRequests: 5_000_000})
	d.say("load loop on http://%s/ (a new connection per request, 4 workers)", d.appAddr)
	err = d.diffBump(ctx)
	if err == nil {
		err = d.step(ctx, "bump to 2.0 (merge to main)", "2.0", d.repo.merge)
	}
	if err == nil {
		err = d.step(ctx, "roll back (git revert)", "1.0", d.repo.revert)
	}
	res := load.Stop()
	if err != nil {
		return d.fail("story", err)
	}
	d.say("requests during the switches: %d served, %d failed (p99 %s)", res.OK, res.Failed, res.P99().Round(time.Microsecond))
	if err := d.brokenRelease(ctx); err != nil {
		return d.fail("broken release", err)
	}
	d.report()
	if res.Failed > 0 {
		return &exitcode.Error{Code: 1, Err: fmt.Errorf("%d requests failed during the switches", res.Failed)}
	}
	return nil
}

// demoBake is the demo agent's --health-bake: long enough to see a release
// that dies a second after it starts, short enough for a quick demo.
const demoBake = 2 * time.Second

// diffBump proposes 2.0 on a branch and shows what `reconciler diff` says
// it would do, before it lands on main.
func (d *demo) diffBump(ctx context.Context) error {
	rev, err := d.repo.proposeBump()
	if err != nil {
		return fmt.Errorf("propose 2.0: %w", err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, d.bin, "diff", "--repo", "file://"+d.repo.dir, "--ref", "next", "--path", "web/current.conf",
		"--dir", d.appDir, "--health-url", "http://"+d.appAddr+"/healthz", "--log-format", "text")
	cmd.Stdout, cmd.Stderr, cmd.Env = &out, &out, agentEnv()
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: differences, as diff(1)
		return fmt.Errorf("reconciler diff: %w\n%s", err, out.String())
	}
	d.say("%-28s %-20s reconciler diff --ref next (changes nothing):", "2.0 proposed on branch next", "commit "+gitrev.Short(rev))
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		d.say("    | %s", line)
	}
	return nil
}

// brokenRelease commits 1.1, which passes its health check and dies a
// second later: the agent sees it within --health-bake, switches back to
// 1.0 by itself, records the revision failed, and does not try it again.
func (d *demo) brokenRelease(ctx context.Context) error {
	start := time.Now()
	rev, err := d.repo.broken()
	if err != nil {
		return err
	}
	layout, err := reconcile.NewLayout(d.appDir)
	if err != nil {
		return err
	}
	var failed reconcile.Failed
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		st, err := layout.LoadState()
		if f, ok := st.IsFailed(rev); err == nil && ok && d.serves("1.0") {
			failed = f
			break
		}
		select {
		case <-waitCtx.Done():
			return fmt.Errorf("1.1 was not rolled back within 60s (see %s)", filepath.Join(d.ws, "agent.log"))
		case <-d.agentDone:
			return fmt.Errorf("the agent stopped: %v", d.agentErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.say("%-28s %-20s back on 1.0 after %s, by the agent itself (--health-bake %s):", "broken 1.1 (dies after 1s)", "commit "+gitrev.Short(rev),
		time.Since(start).Round(time.Millisecond), demoBake)
	for _, line := range strings.Split(failed.Reason, "\n") {
		d.say("    | %s", strings.TrimSpace(line))
	}
	// Not retried: polls go on (one a second), the revision stays failed.
	polls := pollsOf(layout)
	for deadline := time.Now().Add(10 * time.Second); pollsOf(layout) < polls+2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !d.serves("1.0") {
		return errors.New("1.1 was tried again after it failed")
	}
	d.say("%-28s %-20s still on 1.0; `reconciler status` says: revision failed, not applied until the repo moves on", "not retried", "2 polls later")
	return nil
}

// pollsOf counts the agent's polls, as the state file's last poll time
// changes.
func pollsOf(l reconcile.Layout) int64 {
	st, err := l.LoadState()
	if err != nil || st.LastPoll == nil {
		return 0
	}
	return st.LastPoll.Time.UnixMilli() / 1000
}

// step does one change and waits until the app serves version v.
func (d *demo) step(ctx context.Context, name, v string, change func() (string, error)) error {
	start := time.Now()
	what := "the agent's first poll"
	if change != nil {
		rev, err := change()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		what = "commit " + gitrev.Short(rev)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for !d.serves(v) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: the app did not serve %s within 60s (see %s)", name, v, filepath.Join(d.ws, "agent.log"))
		case <-d.agentDone:
			return fmt.Errorf("%s: the agent stopped: %v", name, d.agentErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.say("%-28s %-20s serving %s after %s", name, what, v, time.Since(start).Round(time.Millisecond))
	return nil
}

func (d *demo) serves(v string) bool { return servesVersion(d.appAddr, v) }

// servesVersion reports whether the app at addr answers as version v of
// the demos' deploy repo: the binary and the message of v.
func servesVersion(addr, v string) bool {
	return testkit.Answer(addr) == "exampleapp "+v+": "+demoMessage(v)
}

func (d *demo) report() {
	d.say("")
	d.say("total %s. Look around:", time.Since(d.start).Round(time.Millisecond))
	d.say("  app dir      %s  (reconciler status --dir %s)", d.appDir, d.appDir)
	d.say("  deploy repo  %s  (git log)", d.repo.dir)
	d.say("  agent log    %s", filepath.Join(d.ws, "agent.log"))
}

func (d *demo) fail(stage string, err error) error {
	d.say("FAILED at %s: %v", stage, err)
	return &exitcode.Error{Code: 1, Err: err}
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

// cleanup stops the app the agent started; the workspace stays for a look.
func (d *demo) cleanup() {
	if pid := stopApps(d.appDir); pid != 0 {
		d.say("stopped the demo app (pid %d)", pid)
	}
}

// stopApps stops the app processes of the app directory dir (SIGTERM,
// SIGKILL after 5 s) and returns the pid of the first, 0 if none ran. The
// agent must be stopped first, or it starts the app again.
func stopApps(dir string) int {
	procs, _ := restart.Finder{Dir: dir}.Find()
	for _, p := range procs {
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range procs {
		for procfs.Alive(p.PID) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // main's own wait: no context below it to honour
		}
		if procfs.Alive(p.PID) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	if len(procs) == 0 {
		return 0
	}
	return procs[0].PID
}

func demoWorkspace(workdir string) (string, error) {
	if workdir == "" {
		return os.MkdirTemp("", "reconciler-demo-")
	}
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return "", err
	}
	entries, _ := os.ReadDir(workdir)
	if len(entries) > 0 {
		return "", errors.New("--workdir must be empty or new")
	}
	return filepath.Abs(workdir)
}

func demoMessage(v string) string { return "hello from " + v }
