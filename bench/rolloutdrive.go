package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/promote"
	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// rolloutPath is the desired file of the rollout rows' deploy repo.
const rolloutPath = "web/current.conf"

// The releases of the rollout rows: every host starts on fromVersion;
// crashVersion crashes on start; goodVersion is rolled out to the end;
// plainVersion is the plain bump measured beside it.
const (
	fromVersion  = "1.0"
	crashVersion = "2.0"
	goodVersion  = "3.0"
	plainVersion = "4.0"
)

// rolloutBench is one run of the rollout rows: a git server in a process
// of its own that accepts pushes, the simulated fleet polling it, a real
// Prometheus scraping the fleet's series every second, a person's writer
// and the real promoter (promote.Promoter on promote.GitRepo), all in
// this process but the git server and Prometheus.
type rolloutBench struct {
	o        options
	srv      *remoteGitServer
	prom     *promtest.Server
	sim      *rolloutSim
	f        *fleet
	writer   *gitsrc.Source
	client   *promote.Client
	asked    *timedProm // the client, timed
	promoter *promote.Promoter
}

// timedProm adds up the time the promoter's queries take (one goroutine
// runs the promoter).
type timedProm struct {
	p    promote.Prometheus
	took time.Duration
}

func (t *timedProm) Query(ctx context.Context, q string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	defer t.add(time.Now())
	return t.p.Query(ctx, q, ts, opts...)
}

func (t *timedProm) QueryRange(ctx context.Context, q string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	defer t.add(time.Now())
	return t.p.QueryRange(ctx, q, r, opts...)
}

func (t *timedProm) add(start time.Time) { t.took += time.Since(start) }

func newRolloutBench(ctx context.Context, work string, o options) (*rolloutBench, error) {
	root := filepath.Join(work, "rollout")
	bare := filepath.Join(root, "deploy.git")
	if err := makeRepo(bare, 10, 0, plainFile(fromVersion)); err != nil {
		return nil, err
	}
	b := &rolloutBench{o: o}
	var err error
	if b.srv, err = startRemoteGitServer(root, true); err != nil {
		return nil, err
	}
	url := b.srv.URL + "/deploy.git"
	hosts := promtest.NewHosts()
	promDir := filepath.Join(root, "prometheus")
	if err = os.MkdirAll(promDir, 0o755); err == nil {
		b.prom, err = promtest.Start(ctx, promDir, promtest.Options{Targets: map[string][]string{"reconciler": {hosts.Addr}}})
	}
	if err == nil {
		b.sim, err = newRolloutSim(url, rolloutPath, crashVersion, o.rolloutAgents, hosts)
	}
	if err == nil {
		b.writer, err = gitsrc.New(gitsrc.Options{URL: url, Timeout: fleetPollTimeout})
	}
	var promSrc *gitsrc.Source
	if err == nil {
		promSrc, err = gitsrc.New(gitsrc.Options{URL: url, Timeout: fleetPollTimeout})
	}
	if err == nil {
		b.client, err = promote.NewClient(b.prom.URL, nil, fleetPollTimeout)
	}
	if err != nil {
		b.close()
		hosts.Close()
		return nil, err
	}
	b.asked = &timedProm{p: b.client}
	b.promoter = &promote.Promoter{Repo: promote.GitRepo{Source: promSrc}, Path: rolloutPath, Prometheus: b.asked}
	return b, nil
}

func (b *rolloutBench) close() {
	if b.prom != nil {
		_ = b.prom.Close()
	}
	if b.sim != nil {
		b.sim.metrics.Close()
	}
	b.srv.Close()
}

// run starts the fleet, runs the crashing rollout, the good one and the
// plain bump in turn, and stops the fleet.
func (b *rolloutBench) run(ctx context.Context) (rolloutResult, error) {
	var res rolloutResult
	agentsCtx, stop := context.WithCancel(ctx)
	defer stop()
	b.f = &fleet{n: b.o.rolloutAgents, period: b.o.rolloutPeriod, dur: 24 * time.Hour, start: time.Now(),
		poll: b.sim.poll, polls: make([][]pollRecord, b.o.rolloutAgents)}
	var wg sync.WaitGroup
	for id := range b.f.n {
		wg.Go(func() { b.f.agent(agentsCtx, id) })
	}
	err := b.scenario(ctx, &res)
	stopped := time.Now()
	stop()
	wg.Wait()
	if err != nil {
		return res, err
	}
	var recs []pollRecord
	for _, rs := range b.f.polls {
		for _, r := range rs {
			if !r.at.After(stopped) { // a poll cut short by the end of the run is none
				recs = append(recs, r)
			}
		}
	}
	res.polls = summarizePolls(recs)
	res.ran = b.sim.ran(crashVersion)
	res.plain.reached, res.plain.reachAll = reach(b.f.polls, res.plain.rev, res.plain.at)
	return res, nil
}

func (b *rolloutBench) scenario(ctx context.Context, res *rolloutResult) error {
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err := b.prom.WaitUp(waitCtx, 1)
	cancel()
	if err != nil {
		return err
	}
	// Every agent has made its first contact: it runs fromVersion.
	if err := sleepCtx(ctx, time.Until(b.f.start.Add(b.o.rolloutPeriod+time.Second))); err != nil {
		return err
	}
	if res.crash, err = b.crashRollout(ctx); err != nil {
		return fmt.Errorf("rollout of %s (crashes on start): %w", crashVersion, err)
	}
	// The good rollout follows at once: an agent that has not read the
	// halt yet reads the new rollout instead, as it would in life.
	if res.good, err = b.goodRollout(ctx); err != nil {
		return fmt.Errorf("rollout of %s: %w", goodVersion, err)
	}
	if res.plain, err = b.plainBump(ctx, res.good.git.dur); err != nil {
		return fmt.Errorf("plain bump to %s: %w", plainVersion, err)
	}
	return nil
}

// crashRollout commits the rollout of the release that crashes on start
// and runs the promoter until it halts it.
func (b *rolloutBench) crashRollout(ctx context.Context) (crashResult, error) {
	var r crashResult
	_, at, err := b.commit(ctx, rolloutFile(crashVersion, b.o.rolloutSoak), "rollout "+crashVersion)
	if err != nil {
		return r, err
	}
	deadline := at.Add(3*b.o.rolloutPeriod + 30*time.Second)
	r.runs = b.promoteUntil(ctx, deadline, promote.Halt, nil)
	last := r.runs[len(r.runs)-1]
	r.decision = decisionText(last)
	if r.halted = last.pushed(promote.Halt); r.halted {
		r.after = last.end.Sub(at)
	}
	return r, nil
}

// goodRollout commits the rollout of the good release and runs the
// promoter until it finishes it, with one curl of a Prometheus query
// after each run; the git server is measured from the first commit to
// one period after the finish (every agent has read it).
func (b *rolloutBench) goodRollout(ctx context.Context) (goodResult, error) {
	var r goodResult
	m := b.mark()
	_, at, err := b.commit(ctx, rolloutFile(goodVersion, b.o.rolloutSoak), "rollout "+goodVersion)
	if err != nil {
		return r, err
	}
	q := fmt.Sprintf(`count by (state) (reconciler_rollout_state{rollout="web-%s"} == 1)`, goodVersion)
	curl := b.prom.URL + "/api/v1/query?query=" + url.QueryEscape(q)
	perStep := b.o.rolloutSoak + b.o.rolloutPeriod
	deadline := at.Add(8*perStep + 30*time.Second)
	r.runs = b.promoteUntil(ctx, deadline, promote.Finish, func() {
		took, err := timeCurl(ctx, curl)
		if err != nil {
			r.curlErrs++
			r.curlErr = err
			return
		}
		r.curls = append(r.curls, took)
	})
	last := r.runs[len(r.runs)-1]
	r.last = decisionText(last)
	prev := at
	for _, run := range r.runs {
		if run.pushed(promote.Advance) || run.pushed(promote.Finish) {
			d := run.res.Decision
			r.steps = append(r.steps, stepTime{from: d.Percent, to: d.To, finish: d.Action == promote.Finish, took: run.end.Sub(prev)})
			prev = run.end
		}
	}
	if r.finished = last.pushed(promote.Finish); r.finished {
		r.total = last.end.Sub(at)
	}
	// The promoter keeps running while the finish reaches every agent.
	tail := b.promoteLoop(ctx, time.Now().Add(b.o.rolloutPeriod+time.Second), func(promoteRun) bool { return false }, nil)
	if err := sleepCtx(ctx, time.Until(last.end.Add(b.o.rolloutPeriod+time.Second))); err != nil {
		return r, err
	}
	r.git, r.gitRuns = b.since(m), len(r.runs)+len(tail)
	r.scrapes = b.scrapeHealth(ctx, r.git.dur)
	return r, nil
}

// scrapeHealth asks Prometheus how its scrapes of the fleet went over the
// last d.
func (b *rolloutBench) scrapeHealth(ctx context.Context, d time.Duration) scrapeHealth {
	var h scrapeHealth
	over := fmt.Sprintf(`[%ds]`, int(d.Seconds()))
	one := func(q string) float64 {
		v, _, _, err := b.client.Query(ctx, q, time.Now())
		vec, ok := v.(model.Vector)
		switch {
		case h.err != nil:
		case err != nil:
			h.err = fmt.Errorf("%s: %w", q, err)
		case !ok || len(vec) != 1:
			h.err = fmt.Errorf("%s: answered %v, not one number", q, v)
		default:
			return float64(vec[0].Value)
		}
		return 0
	}
	h.scrapes = int(one(`count_over_time(up{job="reconciler"}` + over + `)`))
	h.up = int(one(`sum_over_time(up{job="reconciler"}` + over + `)`))
	h.longest = time.Duration(one(`max_over_time(scrape_duration_seconds{job="reconciler"}`+over+`)`) * float64(time.Second))
	return h
}

// plainBump commits a plain desired file (no rollout block) and measures
// the git server over d, the good rollout's window. The promoter keeps
// running meanwhile, as on a timer: it reads the branch, finds no rollout
// block, and asks Prometheus nothing.
func (b *rolloutBench) plainBump(ctx context.Context, d time.Duration) (plainResult, error) {
	var r plainResult
	m := b.mark()
	rev, at, err := b.commit(ctx, plainFile(plainVersion), "bump "+plainVersion)
	if err != nil {
		return r, err
	}
	r.rev, r.at = rev, at
	end := m.t.Add(d)
	r.runs = b.promoteLoop(ctx, end, func(promoteRun) bool { return false }, nil)
	if err := sleepCtx(ctx, time.Until(end)); err != nil {
		return r, err
	}
	r.git = b.since(m)
	return r, nil
}

// promoteUntil runs the promoter every -rollout-promote-every until a run
// pushes a decision of action want, or the deadline passes; between runs
// it calls between, if set. It returns every run, the last one last.
func (b *rolloutBench) promoteUntil(ctx context.Context, deadline time.Time, want promote.Action, between func()) []promoteRun {
	return b.promoteLoop(ctx, deadline, func(r promoteRun) bool { return r.pushed(want) }, between)
}

// promoteLoop runs the promoter every -rollout-promote-every, as a timer
// would, until done says so of a run; no run starts after the deadline.
func (b *rolloutBench) promoteLoop(ctx context.Context, deadline time.Time, done func(promoteRun) bool, between func()) []promoteRun {
	var runs []promoteRun
	for {
		r := promoteRun{start: time.Now()}
		q0 := b.client.Queries()
		b.asked.took = 0
		r.res, r.err = b.promoter.Run(ctx)
		r.end, r.queries, r.asking = time.Now(), b.client.Queries()-q0, b.asked.took
		runs = append(runs, r)
		if b.o.rolloutLog {
			fmt.Fprintf(os.Stderr, "bench: rollout: +%.1fs (%s) %s\n", r.end.Sub(b.f.start).Seconds(), r.wall().Round(time.Millisecond), decisionText(r))
		}
		if done(r) || ctx.Err() != nil || r.end.After(deadline) {
			return runs
		}
		if between != nil {
			between()
		}
		next := r.start.Add(b.o.rolloutPromoteEvery)
		if next.After(deadline) || sleepCtx(ctx, time.Until(next)) != nil {
			return runs
		}
	}
}

// commit is a person pushing data as the desired file: one commit on the
// branch, through the git server. It returns the commit and when the push
// ended.
func (b *rolloutBench) commit(ctx context.Context, data []byte, msg string) (string, time.Time, error) {
	if _, err := reconcile.ParseDesired(rolloutPath, data); err != nil {
		return "", time.Time{}, err
	}
	br, err := b.writer.OpenBranch(ctx, 1, gitsrc.Trust{})
	if err != nil {
		return "", time.Time{}, err
	}
	who := object.Signature{Name: "bench", Email: "bench@localhost", When: time.Now()}
	rev, err := br.Commit(rolloutPath, data, msg, who, nil)
	if err == nil {
		err = br.Push(ctx)
	}
	return rev, time.Now(), err
}

// timeCurl runs `curl -s URL`, a person's look at Prometheus, and times it.
func timeCurl(ctx context.Context, u string) (time.Duration, error) {
	start := time.Now()
	out, err := exec.CommandContext(ctx, "curl", "-s", "-f", "--max-time", "30", u).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("curl: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), `"status":"success"`) {
		return 0, fmt.Errorf("curl: Prometheus answered %s", strings.TrimSpace(string(out)))
	}
	return took, nil
}
