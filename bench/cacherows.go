package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/internal/nginxtest"
)

// cacheResult is one fleet's run through nginx: the whole window (the
// commit, and every agent's fetch of it, included), and its idle part
// before the commit, where every poll is a no-change poll.
type cacheResult struct {
	fleetResult
	idle idleResult
}

// idleResult is what the no-change polls cost, per minute.
type idleResult struct {
	gitCPU, nginxCPU  time.Duration
	listings, uploads float64 // requests reaching git
}

// cacheRows (issue 29): simulated agents (the fleet rows' agents: each its
// own gitsrc.Source, a random phase) poll one git server through a real
// nginx, once as a plain proxy and once with the README's ls-refs cache
// (docs/nginx/git-cache.conf, included as it stands), at each size of
// -cache-fleet, in one run. The git server is a process of its own (its
// CPU, http-backend children included, is read from /proc); requests
// reaching git are counted by it. The fleet is already running when the
// run starts: every agent knows the branch's head and has made its first
// contact (warmUp), so a poll is a no-change listing until the commit lands a third of the way into the
// window; that idle part is measured on its own. Each agent then fetches
// the commit (fetches always reach git; an agent of the bench holds no
// objects, so its fetch is a depth-1 clone). The same run with -cache-cli
// clients doing `git fetch` per poll in bare clones (made beforehand from
// the repo on disk) compares git's own client, through both nginx. Polls
// that time out or fail are figures (a saturated server is a result);
// only a broken setup is an error.
func cacheRows(ctx context.Context, t *table, work string, o options) error {
	if nginxtest.Binary() == "" {
		return fmt.Errorf("no nginx binary installed (apt-get install nginx)")
	}
	root := filepath.Join(work, "cache")
	bare := filepath.Join(root, "deploy.git")
	if err := makeRepo(bare, 10, 0, []byte(`{"version":"1.0","bin":{"path":"web/app"}}`)); err != nil {
		return err
	}
	srv, err := startRemoteGitServer(root, false)
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, n := range o.cacheFleet {
		var res [2]cacheResult
		for i, cache := range []bool{false, true} {
			if res[i], err = runCacheFleet(ctx, srv, bare, n, o, cache, true, agentPoll); err != nil {
				return fmt.Errorf("fleet of %d through nginx (cache %v): %w", n, cache, err)
			}
		}
		noteFailures(fmt.Sprintf("%d agents through nginx without the cache", n), res[0].polls)
		noteFailures(fmt.Sprintf("%d agents through nginx with the cache", n), res[1].polls)
		addCacheRows(t, fmt.Sprintf("%d agents polling every %s through nginx", n, o.cachePeriod), res[0], res[1])
	}
	n := o.cacheCLI
	clones, err := cloneFleet(ctx, bare, filepath.Join(root, "cli"), n)
	if err != nil {
		return err
	}
	var cli [2]cacheResult
	for i, cache := range []bool{false, true} {
		if cli[i], err = runCacheFleet(ctx, srv, bare, n, o, cache, false, func(url string) pollFunc { return fetchPoll(url, clones) }); err != nil {
			return fmt.Errorf("fleet of %d running git fetch through nginx (cache %v): %w", n, cache, err)
		}
	}
	noteFailures(fmt.Sprintf("%d git fetch clients through nginx without the cache", n), cli[0].polls)
	noteFailures(fmt.Sprintf("%d git fetch clients through nginx with the cache", n), cli[1].polls)
	addCacheRows(t, fmt.Sprintf("%d `git fetch` clients every %s through nginx", n, o.cachePeriod), cli[0], cli[1])
	return nil
}

// runCacheFleet runs one fleet through a new nginx in front of srv, with
// or without the cache; the agents start knowing the branch's head. As
// runFleet, but the idle part of the window (from the end of the settling
// period to the commit) is measured on its own. With warm, every agent
// makes its first contact before the run (warmUp).
func runCacheFleet(ctx context.Context, srv *remoteGitServer, bare string, n int, o options, cache, warm bool, poll func(url string) pollFunc) (cacheResult, error) {
	ngx, err := nginxtest.Start(ctx, nginxtest.Options{Upstream: strings.TrimPrefix(srv.URL, "http://"), Cache: cache})
	if err != nil {
		return cacheResult{}, err
	}
	defer ngx.Close()
	head, err := runOut("git", "--git-dir", bare, "rev-parse", "main")
	if err != nil {
		return cacheResult{}, err
	}
	p := seeded(poll(ngx.URL+"/deploy.git"), strings.TrimSpace(head))
	if warm {
		if err := warmUp(ctx, p, n); err != nil {
			return cacheResult{}, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &fleet{n: n, period: o.cachePeriod, dur: o.cacheFor, start: time.Now(), poll: p, polls: make([][]pollRecord, n)}
	var wg sync.WaitGroup
	for id := range n {
		wg.Go(func() { f.agent(ctx, id) })
	}
	w, idle, err := measureIdle(ctx, f, srv, ngx, bare)
	if err != nil {
		cancel()
	}
	wg.Wait()
	if err != nil {
		return cacheResult{}, err
	}
	return cacheResult{fleetResult: f.result(srv, w), idle: idle}, nil
}

// measureIdle lets the fleet settle (every agent has polled once), then
// measures a third of the rest of the run with no commit, and commits.
func measureIdle(ctx context.Context, f *fleet, srv *remoteGitServer, ngx *nginxtest.Server, bare string) (window, idleResult, error) {
	var w window
	if err := sleepCtx(ctx, f.period+time.Second); err != nil {
		return w, idleResult{}, err
	}
	w.l0, w.u0 = srv.stats()
	w.cpu0, w.t0 = srv.cpu(), time.Now()
	ngx0 := ngx.CPU()
	if err := sleepCtx(ctx, (f.dur-f.period)/3); err != nil {
		return w, idleResult{}, err
	}
	l1, u1 := srv.stats()
	minutes := time.Since(w.t0).Minutes()
	idle := idleResult{
		gitCPU:   time.Duration(float64(srv.cpu()-w.cpu0) / minutes),
		nginxCPU: time.Duration(float64(ngx.CPU()-ngx0) / minutes),
		listings: float64(l1-w.l0) / minutes,
		uploads:  float64(u1-w.u0) / minutes,
	}
	rev, err := bumpRepo(bare)
	if err != nil {
		return w, idle, err
	}
	w.bumpRev, w.bumpAt = rev, time.Now()
	return w, idle, nil
}

// warmUp makes every agent's first contact (the capabilities' GET, then
// the ls-refs POST), a few at a time, before the run: a fleet that runs
// has made it long ago, and 5,000 first contacts in one period (their
// GETs are never cached) would saturate 2 cores and time out, sending
// the agents that timed out back to a first contact at every poll.
func warmUp(ctx context.Context, poll pollFunc, n int) error {
	ids := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				pollCtx, cancel := context.WithTimeout(ctx, fleetPollTimeout)
				_, _ = poll(pollCtx, id, "") // one that fails makes its first contact in the run
				cancel()
			}
		})
	}
	for id := range n {
		select {
		case ids <- id:
		case <-ctx.Done():
		}
	}
	close(ids)
	wg.Wait()
	return ctx.Err()
}

// seeded makes a fleet that was running before the measure began: an
// agent's first poll already knows head.
func seeded(poll pollFunc, head string) pollFunc {
	return func(ctx context.Context, id int, known string) (string, error) {
		if known == "" {
			known = head
		}
		return poll(ctx, id, known)
	}
}

// cloneFleet makes n bare clones of bare from disk (hard links: no git
// server involved) under dir, one per `git fetch` client.
func cloneFleet(ctx context.Context, bare, dir string, n int) ([]string, error) {
	clones := make([]string, n)
	for id := range n {
		clones[id] = filepath.Join(dir, strconv.Itoa(id))
		if err := runCmdContext(ctx, "", "git", "clone", "-q", "--bare", bare, clones[id]); err != nil {
			return nil, fmt.Errorf("clone for git fetch client %d: %w", id, err)
		}
	}
	return clones, nil
}

// fetchPoll is a cron job's `git fetch` of the branch from url into the
// agent's clone (protocol v2: a GET of info/refs, the ls-refs POST, and a
// fetch POST when the branch moved).
func fetchPoll(url string, clones []string) pollFunc {
	return func(ctx context.Context, id int, known string) (string, error) {
		dir := clones[id]
		if err := runCmdContext(ctx, "", "git", "--git-dir", dir, "fetch", "-q", url, "+refs/heads/main:refs/heads/main"); err != nil {
			return known, err
		}
		out, err := exec.CommandContext(ctx, "git", "--git-dir", dir, "rev-parse", "main").Output()
		if err != nil {
			return known, fmt.Errorf("git rev-parse main in %s: %w", dir, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
}

func addCacheRows(t *table, what string, plain, cached cacheResult) {
	const alt = "the same through nginx without the cache"
	ratio := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	what += " with the ls-refs cache"
	t.add(what+": no-change polls: git server CPU per minute", cached.idle.gitCPU.Round(time.Millisecond).String(),
		plain.idle.gitCPU.Round(time.Millisecond).String(), alt, ratio(float64(cached.idle.gitCPU), float64(plain.idle.gitCPU)))
	t.add(what+": no-change polls: requests reaching git per minute (ref listings + object transfers)",
		fmt.Sprintf("%.0f + %.1f", cached.idle.listings, cached.idle.uploads), fmt.Sprintf("%.0f + %.1f", plain.idle.listings, plain.idle.uploads),
		alt, ratio(cached.idle.listings+cached.idle.uploads, plain.idle.listings+plain.idle.uploads))
	t.add(what+": no-change polls: nginx CPU per minute", cached.idle.nginxCPU.Round(time.Millisecond).String(),
		plain.idle.nginxCPU.Round(time.Millisecond).String(), alt, 0)
	t.add(what+": the whole window, the commit and its fetches included: git server CPU per minute; object transfers in all",
		fmt.Sprintf("%s; %d", cached.serverCPU.Round(time.Millisecond), cached.uploadsTotal),
		fmt.Sprintf("%s; %d", plain.serverCPU.Round(time.Millisecond), plain.uploadsTotal), alt, 0)
	t.add(what+": commit reaches all agents",
		fmt.Sprintf("%s (%d of %d)", cached.bumpReachAll.Round(time.Millisecond), cached.reached, cached.expectedReach),
		fmt.Sprintf("%s (%d of %d)", plain.bumpReachAll.Round(time.Millisecond), plain.reached, plain.expectedReach), alt, 0)
	t.add(fmt.Sprintf("%s: polls (slots skipped); timed out (no answer in %s); failed", what, fleetPollTimeout),
		cached.polls.counts(), plain.polls.counts(), alt, 0)
	t.add(what+": poll latency p50 / p90 / p99 / max", cached.polls.latencies(), plain.polls.latencies(), alt, 0)
}
