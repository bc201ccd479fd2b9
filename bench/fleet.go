package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// fleetPollTimeout bounds one simulated agent's poll (the ref listing, and
// the fetch when the branch moved); a poll still unanswered then counts as
// timed out.
const fleetPollTimeout = 30 * time.Second

// fleetResult is what one simulated fleet did to the git server.
type fleetResult struct {
	agents                 int
	serverCPU              time.Duration // git http-backend processes, per minute
	listings, uploads      float64       // GET info/refs and POST git-upload-pack, per minute
	uploadsTotal           int64
	bumpReachAll           time.Duration // from the commit to the last agent having it
	reached, expectedReach int
	polls                  pollStats
}

// fleetRows: N simulated agents, each with its own deploy repo cache and a
// random phase (the jitter), poll one smart-HTTP git server on 127.0.0.1.
// A commit lands during the run; we measure the git server's CPU (a process
// of its own, with its http-backend children), requests per minute, every
// poll's latency and outcome, and how long the commit takes to reach every
// agent. The same fleet doing a `git fetch` per poll (the
// git CLI, as a cron job would) is measured at the smallest N. The deploy
// repo has main and o.fleetRefs tags (-fleet-refs), and the rows say how
// many refs it had. Polls that
// time out or fail are figures of the rows (a saturated server is a
// result); only a broken setup is an error.
func fleetRows(ctx context.Context, t *table, work string, o options) error {
	root := filepath.Join(work, "fleet")
	bare := filepath.Join(root, "deploy.git")
	if err := makeRepo(bare, 10, 0, []byte(`{"version":"1.0","bin":{"path":"web/app"}}`)); err != nil {
		return err
	}
	if o.fleetRefs > 0 {
		if err := addTags(bare, o.fleetRefs); err != nil {
			return err
		}
	}
	refs, err := countRefs(bare)
	if err != nil {
		return err
	}
	srv, err := startRemoteGitServer(root, false)
	if err != nil {
		return err
	}
	defer srv.Close()
	url := srv.URL + "/deploy.git"
	var ours []fleetResult
	for _, n := range o.fleet {
		r, err := runFleet(ctx, srv, bare, n, o, agentPoll(url))
		if err != nil {
			return fmt.Errorf("fleet of %d: %w", n, err)
		}
		ours = append(ours, r)
		noteFailures(fmt.Sprintf("fleet of %d", n), r.polls)
		addFleetRows(t, fmt.Sprintf("fleet of %d agents polling every %s for %s, deploy repo of %s", n, o.fleetPeriod, o.fleetFor, refsString(refs)), r)
	}
	n := o.fleet[0]
	cli, err := runFleet(ctx, srv, bare, n, o, cliPoll(url, work))
	if err != nil {
		return fmt.Errorf("fleet of %d running git fetch: %w", n, err)
	}
	noteFailures(fmt.Sprintf("fleet of %d running git fetch", n), cli.polls)
	addFleetComparison(t, fmt.Sprintf("fleet of %d (%s)", n, refsString(refs)), ours[0], cli)
	for _, r := range ours {
		o.plots.fleetN = append(o.plots.fleetN, float64(r.agents))
		o.plots.fleetCPU = append(o.plots.fleetCPU, ms(r.serverCPU))
	}
	o.plots.fleetCLIN, o.plots.fleetCLICPU = []float64{float64(n)}, []float64{ms(cli.serverCPU)}
	return nil
}

func addFleetRows(t *table, what string, r fleetResult) {
	t.add(what+": git server CPU per minute", r.serverCPU.Round(time.Millisecond).String(), "–", "–", 0)
	t.add(what+": ref listings per minute (GET info/refs or ls-refs POST); object transfers (POST upload-pack) in all", fmt.Sprintf("%.0f; %d", r.listings, r.uploadsTotal), "–", "–", 0)
	t.add(fmt.Sprintf("%s: polls (slots skipped while a poll overran); timed out (no answer in %s); failed", what, fleetPollTimeout),
		r.polls.counts(), "–", "–", 0)
	t.add(what+": poll latency p50 / p90 / p99 / max", r.polls.latencies(), "–", "–", 0)
	t.add(what+": commit reaches all agents", fmt.Sprintf("%s (%d of %d)", r.bumpReachAll.Round(time.Millisecond), r.reached, r.expectedReach), "–", "–", 0)
}

func addFleetComparison(t *table, what string, r, cli fleetResult) {
	const alt = "the same fleet running `git fetch` per poll"
	t.add(what+", git server CPU per minute", r.serverCPU.Round(time.Millisecond).String(),
		cli.serverCPU.Round(time.Millisecond).String(), alt, float64(r.serverCPU)/float64(cli.serverCPU))
	// git's protocol v2 costs an up-to-date fetch two ref-listing requests
	// (GET info/refs, then an ls-refs POST), each a backend process; the
	// agent, once it knows the server's capabilities, the ls-refs POST alone.
	t.add(what+", git requests per minute (ref listings + object transfers)",
		fmt.Sprintf("%.0f + %.1f", r.listings, r.uploads), fmt.Sprintf("%.0f + %.1f", cli.listings, cli.uploads),
		alt, (r.listings+r.uploads)/(cli.listings+cli.uploads))
	t.add(what+", polls (slots skipped); timed out; failed", r.polls.counts(), cli.polls.counts(), alt, 0)
	p50 := 0.0 // no ratio if the CLI fleet made no poll
	if cli.polls.p50 > 0 {
		p50 = float64(r.polls.p50) / float64(cli.polls.p50)
	}
	t.add(what+", poll latency p50 / p90 / p99 / max", r.polls.latencies(), cli.polls.latencies(), alt, p50)
}

// countRefs is the number of refs in a repo (HEAD, a symbolic ref, aside).
func countRefs(bare string) (int, error) {
	out, err := runOut("git", "--git-dir", bare, "for-each-ref", "--format=x")
	if err != nil {
		return 0, fmt.Errorf("git for-each-ref: %w", err)
	}
	return strings.Count(out, "x"), nil
}

func refsString(n int) string {
	if n == 1 {
		return "1 ref"
	}
	return fmt.Sprintf("%d refs", n)
}

// noteFailures says on stderr why polls failed: the table has only counts.
func noteFailures(what string, s pollStats) {
	if s.firstErr != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %d polls failed, the first with: %v\n", what, s.failed, s.firstErr)
	}
}

// pollFunc is one agent's poll; it returns the head it now has.
type pollFunc func(ctx context.Context, id int, known string) (string, error)

// agentPoll is the agent's way: a ref listing; a depth-1 fetch only when
// the branch moved. Each agent's Source is used by its own goroutine only.
func agentPoll(url string) pollFunc {
	var mu sync.Mutex
	sources := map[int]*gitsrc.Source{}
	return func(ctx context.Context, id int, known string) (string, error) {
		mu.Lock()
		src := sources[id]
		if src == nil {
			var err error
			if src, err = gitsrc.New(gitsrc.Options{URL: url, Timeout: fleetPollTimeout}); err != nil {
				mu.Unlock()
				return "", err
			}
			sources[id] = src
		}
		mu.Unlock()
		head, err := src.Head(ctx)
		if err != nil || head == known {
			return known, err
		}
		return src.Fetch(ctx, head)
	}
}

// cliPoll is what a cron job would do: `git fetch` in a clone.
func cliPoll(url, work string) pollFunc {
	return func(ctx context.Context, id int, known string) (string, error) {
		dir := filepath.Join(work, "fleet-cli", strconv.Itoa(id))
		if known == "" {
			os.RemoveAll(dir) // a clone cut short by its deadline leaves a partial one
			if err := runCmdContext(ctx, "", "git", "clone", "-q", "--bare", url, dir); err != nil {
				return "", err
			}
		} else if err := runCmdContext(ctx, dir, "git", "fetch", "-q", "origin", "+refs/heads/main:refs/heads/main"); err != nil {
			return known, err
		}
		out, err := exec.CommandContext(ctx, "git", "--git-dir", dir, "rev-parse", "main").Output()
		if err != nil {
			return known, fmt.Errorf("git rev-parse main in %s: %w", dir, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
}

// fleet is one run of n simulated agents. Agent id alone appends to
// polls[id], so the agents share no state; the records are read once every
// agent has returned.
type fleet struct {
	n           int
	period, dur time.Duration
	start       time.Time // agent phases are random in [start, start+period)
	poll        pollFunc
	polls       [][]pollRecord
}

// window is the measured part of a fleet run: from the end of the settling
// period (every agent has made its first contact) to the last poll's end.
type window struct {
	t0      time.Time
	cpu0    time.Duration
	l0, u0  int64
	bumpRev string
	bumpAt  time.Time
}

func runFleet(ctx context.Context, srv *remoteGitServer, bare string, n int, o options, poll pollFunc) (fleetResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &fleet{n: n, period: o.fleetPeriod, dur: o.fleetFor, start: time.Now(), poll: poll, polls: make([][]pollRecord, n)}
	var wg sync.WaitGroup
	for id := range n {
		wg.Go(func() { f.agent(ctx, id) })
	}
	w, err := f.measure(ctx, srv, bare)
	if err != nil {
		cancel()
	}
	wg.Wait()
	if err != nil {
		return fleetResult{}, err
	}
	return f.result(srv, w), nil
}

// agent polls at its own phase every period until the run's end. A poll
// that overruns its period skips the slots it missed: the real agent
// counts its schedule from the end of a poll, it does not catch up.
func (f *fleet) agent(ctx context.Context, id int) {
	known := ""
	end := f.start.Add(f.dur)
	for next := f.start.Add(time.Duration(rand.Int64N(int64(f.period)))); next.Before(end); {
		if sleepCtx(ctx, time.Until(next)) != nil {
			return
		}
		rec := f.pollOnce(ctx, id, known)
		if rec.outcome == pollOK {
			known = rec.head
		}
		for next = next.Add(f.period); next.Before(rec.at) && next.Before(end); next = next.Add(f.period) {
			rec.skipped++
		}
		f.polls[id] = append(f.polls[id], rec)
	}
}

// pollOnce runs one poll under fleetPollTimeout and records it.
func (f *fleet) pollOnce(ctx context.Context, id int, known string) pollRecord {
	pollCtx, cancel := context.WithTimeout(ctx, fleetPollTimeout)
	defer cancel()
	start := time.Now()
	head, err := f.poll(pollCtx, id, known)
	r := pollRecord{took: time.Since(start), at: time.Now(), head: head, outcome: outcomeOf(pollCtx, err)}
	if r.outcome == pollFailed {
		r.err = err
	}
	return r
}

// measure lets the fleet settle, snapshots the server's counters, then
// commits to the deploy repo a third of the way into the measured window.
func (f *fleet) measure(ctx context.Context, srv *remoteGitServer, bare string) (window, error) {
	var w window
	if err := sleepCtx(ctx, f.period+time.Second); err != nil {
		return w, err
	}
	w.l0, w.u0 = srv.stats()
	w.cpu0, w.t0 = srv.cpu(), time.Now()
	if err := sleepCtx(ctx, (f.dur-f.period)/3); err != nil {
		return w, err
	}
	rev, err := bumpRepo(bare)
	if err != nil {
		return w, err
	}
	w.bumpRev, w.bumpAt = rev, time.Now()
	return w, nil
}

// result reads the server's counters at the end of the window and sums up
// the agents' polls.
func (f *fleet) result(srv *remoteGitServer, w window) fleetResult {
	minutes := time.Since(w.t0).Minutes()
	l1, u1 := srv.stats()
	r := fleetResult{
		agents:        f.n,
		serverCPU:     time.Duration(float64(srv.cpu()-w.cpu0) / minutes),
		listings:      float64(l1-w.l0) / minutes,
		uploads:       float64(u1-w.u0) / minutes,
		uploadsTotal:  u1 - w.u0,
		expectedReach: f.n,
		polls:         summarizePolls(slices.Concat(f.polls...)),
	}
	for _, recs := range f.polls {
		for _, p := range recs {
			if p.outcome == pollOK && p.head == w.bumpRev {
				r.reached++
				r.bumpReachAll = max(r.bumpReachAll, p.at.Sub(w.bumpAt))
				break
			}
		}
	}
	return r
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bumpRepo adds a commit on main with the same tree (a new revision).
func bumpRepo(bare string) (string, error) {
	out, err := exec.Command("git", "--git-dir", bare, "-c", "user.name=bench", "-c", "user.email=bench@localhost",
		"commit-tree", "main^{tree}", "-p", "main", "-m", "bump").Output()
	if err != nil {
		return "", fmt.Errorf("commit-tree: %w", err)
	}
	rev := strings.TrimSpace(string(out))
	return rev, runCmd("", "git", "--git-dir", bare, "update-ref", "refs/heads/main", rev)
}
