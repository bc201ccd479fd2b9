package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// fleetOptions are the settings of `demo --fleet`.
type fleetOptions struct {
	workdir string
	verbose bool
	// prometheus: run a real Prometheus, and let promote's code take the
	// steps; false: no Prometheus, the steps are taken by hand.
	prometheus bool
}

// The demo fleet: a canary and four hosts. In rollout web-2.0 the buckets
// of web-03 (2870) and web-04 (4359) are below 50%, those of web-01 (9038)
// and web-02 (5280) are not, so the 50% step takes 3 hosts of 5.
var fleetHostIDs = []string{"canary-1", "web-01", "web-02", "web-03", "web-04"}

const fleetCanary = "canary-1"

// fleetSteps are both rollouts' steps: the canary alone, half the fleet,
// all of it; a short soak each.
var fleetSteps = []reconcile.RolloutStep{{Percent: 0, Soak: "2s"}, {Percent: 50, Soak: "2s"}, {Percent: 100, Soak: "2s"}}

// fleetWait bounds each wait of the fleet demo.
const fleetWait = 60 * time.Second

// fleetDemo is one run of `demo --fleet`.
type fleetDemo struct {
	out   io.Writer
	ws    string
	start time.Time
	repo  *demoRepo
	bin   string // the reconciler binary the demo built
	hosts []*fleetHost
	prom  *promtest.Server // nil: no Prometheus

	stopped  chan struct{} // closed when the first agent has stopped
	stopOnce sync.Once
	stopErr  error // why, once stopped is closed
}

// fleetHost is one host of the demo fleet, all of them on this machine.
type fleetHost struct {
	id     string
	dir    string // its app directory
	app    string // its example app's address (-listen)
	listen string // its agent's /metrics and /status
}

func runFleetDemo(ctx context.Context, stdout, stderr io.Writer, o fleetOptions) error {
	ws, err := demoWorkspace(o.workdir)
	if err != nil {
		return err
	}
	f := &fleetDemo{out: stdout, ws: ws, start: time.Now(), stopped: make(chan struct{})}
	f.say("reconciler demo --fleet, workspace %s", ws)
	if o.prometheus {
		f.say("%-28s %s: reconciler promote takes every step from what it says", "prometheus", promtest.Binary())
	} else {
		f.say("no prometheus binary installed (apt-get install prometheus): without it reconciler promote and")
		f.say("reconciler fleet cannot run, so this demo takes the same steps by hand, as a person would, from")
		f.say("what each agent's /status says, and shows the fleet from the agents' /status")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the artifact server
	defer f.cleanup()
	logw, closeLog := f.logWriter(o.verbose, stderr)
	defer closeLog()
	if err := f.prepare(ctx); err != nil {
		return f.fail("prepare", err)
	}
	stopAgents := f.startAgents(ctx, logw)
	defer stopAgents()
	if err := f.firstDeploy(ctx, o.prometheus); err != nil {
		return f.fail("first deploy", err)
	}
	if err := f.story(ctx); err != nil {
		return f.fail("story", err)
	}
	f.report()
	return nil
}

// story rolls 2.0 out step by step, halts the bad 2.1 at its canary, and
// shows the fleet.
func (f *fleetDemo) story(ctx context.Context) error {
	good := fleetRelease{id: "web-2.0", version: "2.0", bin: "2.0", from: "1.0"}
	bad := fleetRelease{id: "web-2.1", version: "2.1", bin: "2.0", from: "2.0", crash: true}
	if f.prom == nil {
		if err := f.rollByHand(ctx, good); err != nil {
			return fmt.Errorf("rollout %s: %w", good.id, err)
		}
		if err := f.haltByHand(ctx, bad); err != nil {
			return fmt.Errorf("rollout %s: %w", bad.id, err)
		}
		return f.fleetFromStatus(ctx)
	}
	p, client, err := f.promoter()
	if err != nil {
		return err
	}
	if err := f.rollOut(ctx, p, good); err != nil {
		return fmt.Errorf("rollout %s: %w", good.id, err)
	}
	if err := f.haltCanary(ctx, p, bad); err != nil {
		return fmt.Errorf("rollout %s: %w", bad.id, err)
	}
	return f.fleetFromPrometheus(ctx, client)
}

// logWriter is where the agents log: stderr with -v, else agents.log in
// the workspace.
func (f *fleetDemo) logWriter(verbose bool, stderr io.Writer) (io.Writer, func()) {
	if verbose {
		return stderr, func() {}
	}
	file, err := os.Create(filepath.Join(f.ws, "agents.log"))
	if err != nil {
		return io.Discard, func() {}
	}
	return file, func() { file.Close() }
}

// prepare builds the app, serves the artifacts, and makes the deploy repo
// at 1.0, shared as a bare repo the agents follow and promote pushes to.
func (f *fleetDemo) prepare(ctx context.Context) error {
	f.bin = filepath.Join(f.ws, "bin", "reconciler")
	if err := buildReconciler(ctx, f.say, f.bin); err != nil {
		return err
	}
	artDir := filepath.Join(f.ws, "artifacts")
	digests, err := buildArtifacts(ctx, f.say, artDir, "1.0", "2.0")
	if err != nil {
		return err
	}
	artURL, err := serveDir(ctx, artDir)
	if err != nil {
		return err
	}
	f.say("%-28s %s", "artifact server", artURL)
	// Every host's -listen overrides the configs' "listen".
	f.repo = &demoRepo{dir: filepath.Join(f.ws, "deploy-work"), artURL: artURL, digests: digests, addr: "127.0.0.1:8080"}
	if err := f.repo.create(); err != nil {
		return fmt.Errorf("deploy repo: %w", err)
	}
	if err := f.repo.share(filepath.Join(f.ws, "deploy.git")); err != nil {
		return fmt.Errorf("deploy repo: %w", err)
	}
	f.say("%-28s %s (bare, as on a git host: the agents follow it by file://, every step is pushed to it)", "deploy repo", f.repo.bare)
	for _, id := range fleetHostIDs {
		h := &fleetHost{id: id, dir: filepath.Join(f.ws, "srv", id)}
		if h.app, err = testkit.FreeAddr(); err == nil { // distinct: never a port it gave before
			h.listen, err = testkit.FreeAddr()
		}
		if err != nil {
			return err
		}
		f.hosts = append(f.hosts, h)
	}
	return nil
}

// startAgents runs every host's agent, each a `reconciler run` child
// process whose log lines go to logw after its host id; the func returned
// stops them (SIGTERM) and waits.
func (f *fleetDemo) startAgents(ctx context.Context, logw io.Writer) func() {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for _, h := range f.hosts {
		a := demoAgent{bin: f.bin, repo: "file://" + f.repo.bare, dir: h.dir, hostID: h.id, app: h.app,
			exec: "./app.bin -c app.cfg -listen " + h.app, listen: h.listen}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := a.run(ctx, &prefixLines{mu: &mu, w: logw, prefix: "host=" + h.id + " "})
			if ctx.Err() == nil {
				f.stopOnce.Do(func() { f.stopErr = fmt.Errorf("the agent of %s stopped: %v", h.id, err); close(f.stopped) })
			}
		}()
	}
	f.say("%-28s %d, each a reconciler run process with its --host-id, app directory and app port", "agents", len(f.hosts))
	f.say("%-28s --schedule \"@every 1s\" --health-bake %s --exec \"./app.bin -c app.cfg -listen ADDR\"", "", demoBake)
	return func() { cancel(); wg.Wait() }
}

// firstDeploy waits for every host to run 1.0 and, with Prometheus, for it
// to scrape every agent.
func (f *fleetDemo) firstDeploy(ctx context.Context, withProm bool) error {
	start := time.Now()
	if withProm {
		if err := f.startPrometheus(ctx); err != nil {
			return err
		}
	}
	if err := f.waitUntil(ctx, "every host to serve 1.0", func() bool { return f.allServe("1.0") }); err != nil {
		return err
	}
	f.say("%-28s %-20s every host serves 1.0 after %s", "first deploy of 1.0", "5 agents' first poll", time.Since(start).Round(time.Millisecond))
	if f.prom == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, fleetWait)
	defer cancel()
	if err := f.prom.WaitUp(wctx, len(f.hosts)); err != nil {
		return err
	}
	f.say("%-28s %-20s scrapes the %d agents' /metrics after %s", "prometheus", f.prom.URL, len(f.hosts), time.Since(start).Round(time.Millisecond))
	return nil
}

// startPrometheus runs Prometheus, scraping every agent each second.
func (f *fleetDemo) startPrometheus(ctx context.Context) error {
	dir := filepath.Join(f.ws, "prometheus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var targets []string
	for _, h := range f.hosts {
		targets = append(targets, h.listen)
	}
	s, err := promtest.Start(ctx, dir, promtest.Options{Targets: map[string][]string{"web": targets}})
	if err != nil {
		return fmt.Errorf("start prometheus: %w", err)
	}
	f.prom = s
	return nil
}

// allServe reports whether every host's app answers as version v.
func (f *fleetDemo) allServe(v string) bool {
	for _, h := range f.hosts {
		if !servesVersion(h.app, v) {
			return false
		}
	}
	return true
}

// waitUntil checks cond every 100 ms until it holds; it gives up after
// fleetWait, when ctx ends or when an agent stops.
func (f *fleetDemo) waitUntil(ctx context.Context, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, fleetWait)
	defer cancel()
	for !cond() {
		if err := f.pause(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %s: %w (see %s)", what, err, filepath.Join(f.ws, "agents.log"))
		}
	}
	return nil
}

// pause waits d, unless ctx ends or an agent stops first.
func (f *fleetDemo) pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.stopped:
		return f.stopErr
	case <-time.After(d):
		return nil
	}
}

func (f *fleetDemo) report() {
	f.say("")
	f.say("total %s. Look around:", time.Since(f.start).Round(time.Millisecond))
	f.say("  app dirs     %s/*  (reconciler status --dir %s)", filepath.Join(f.ws, "srv"), f.hosts[0].dir)
	f.say("  deploy repo  %s  (git log: every step is a commit)", f.repo.bare)
	f.say("  agent logs   %s", filepath.Join(f.ws, "agents.log"))
}

func (f *fleetDemo) fail(stage string, err error) error {
	f.say("FAILED at %s: %v", stage, err)
	return &exitcode.Error{Code: 1, Err: err}
}

func (f *fleetDemo) say(format string, args ...any) { fmt.Fprintf(f.out, format+"\n", args...) }

// cleanup stops the apps (the agents are stopped by then) and Prometheus,
// whose log stays in the workspace; the workspace stays for a look.
func (f *fleetDemo) cleanup() {
	var pids []string
	for _, h := range f.hosts {
		if pid := stopApps(h.dir); pid != 0 {
			pids = append(pids, fmt.Sprint(pid))
		}
	}
	if len(pids) > 0 {
		f.say("stopped the demo apps (pids %s)", strings.Join(pids, ", "))
	}
	if f.prom != nil {
		_ = f.prom.Close()
		_ = os.WriteFile(filepath.Join(f.ws, "prometheus", "prometheus.log"), []byte(f.prom.Log()), 0o644)
		f.say("stopped prometheus")
	}
}
