package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/nginxtest"
)

// cacheResult is one fleet's run through nginx, and what nginx spent.
type cacheResult struct {
	fleetResult
	nginxCPU time.Duration // per minute
}

// cacheRows (issue 29): simulated agents (the fleet rows' agents: each its
// own gitsrc.Source, a random phase) poll one git server through a real
// nginx, once as a plain proxy and once with the README's ls-refs cache
// (docs/nginx/git-cache.conf, included as it stands), at each size of
// -cache-fleet, in one run. The git server is a process of its own (its
// CPU, http-backend children included, is read from /proc); requests
// reaching git are counted by it. The fleet is already running when the
// run starts: every agent knows the branch's head, so a poll is a listing
// until the commit lands a third of the way into the window, which each
// agent then fetches (fetches always reach git). The same fleet running
// `git fetch` per poll in bare clones (made beforehand from the repo on
// disk) is measured at the smallest size, through both nginx. Polls that
// time out or fail are figures (a saturated server is a result); only a
// broken setup is an error.
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
	fo := o
	fo.fleetPeriod, fo.fleetFor = o.cachePeriod, o.cacheFor
	for _, n := range o.cacheFleet {
		var res [2]cacheResult
		for i, cache := range []bool{false, true} {
			if res[i], err = runCacheFleet(ctx, srv, bare, n, fo, cache, agentPoll); err != nil {
				return fmt.Errorf("fleet of %d through nginx (cache %v): %w", n, cache, err)
			}
		}
		addCacheRows(t, fmt.Sprintf("%d agents polling every %s through nginx", n, o.cachePeriod), res[0], res[1])
	}
	n := o.cacheFleet[0]
	clones, err := cloneFleet(ctx, bare, filepath.Join(root, "cli"), n)
	if err != nil {
		return err
	}
	var cli [2]cacheResult
	for i, cache := range []bool{false, true} {
		if cli[i], err = runCacheFleet(ctx, srv, bare, n, fo, cache, func(url string) pollFunc { return fetchPoll(url, clones) }); err != nil {
			return fmt.Errorf("fleet of %d running git fetch through nginx (cache %v): %w", n, cache, err)
		}
	}
	addCacheRows(t, fmt.Sprintf("%d `git fetch` clients every %s through nginx", n, o.cachePeriod), cli[0], cli[1])
	return nil
}

// runCacheFleet runs one fleet through a new nginx in front of srv, with
// or without the cache; the agents start knowing the branch's head.
func runCacheFleet(ctx context.Context, srv *remoteGitServer, bare string, n int, o options, cache bool, poll func(url string) pollFunc) (cacheResult, error) {
	ngx, err := nginxtest.Start(ctx, nginxtest.Options{Upstream: strings.TrimPrefix(srv.URL, "http://"), Cache: cache})
	if err != nil {
		return cacheResult{}, err
	}
	defer ngx.Close()
	head, err := runOut("git", "--git-dir", bare, "rev-parse", "main")
	if err != nil {
		return cacheResult{}, err
	}
	start, cpu0 := time.Now(), ngx.CPU()
	r, err := runFleet(ctx, srv, bare, n, o, seeded(poll(ngx.URL+"/deploy.git"), strings.TrimSpace(head)))
	if err != nil {
		return cacheResult{}, err
	}
	what := fmt.Sprintf("fleet of %d through nginx (cache %v)", n, cache)
	noteFailures(what, r.polls)
	// nginx's CPU over the whole run (settling included): the worker is
	// alive until Close, so its ticks are read live.
	return cacheResult{fleetResult: r, nginxCPU: time.Duration(float64(ngx.CPU()-cpu0) / time.Since(start).Minutes())}, nil
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
	t.add(what+" with the ls-refs cache: git server CPU per minute", cached.serverCPU.Round(time.Millisecond).String(),
		plain.serverCPU.Round(time.Millisecond).String(), alt, ratio(float64(cached.serverCPU), float64(plain.serverCPU)))
	t.add(what+" with the ls-refs cache: requests reaching git per minute (ref listings + object transfers)",
		fmt.Sprintf("%.0f + %.1f", cached.listings, cached.uploads), fmt.Sprintf("%.0f + %.1f", plain.listings, plain.uploads),
		alt, ratio(cached.listings+cached.uploads, plain.listings+plain.uploads))
	t.add(what+" with the ls-refs cache: nginx CPU per minute", cached.nginxCPU.Round(time.Millisecond).String(),
		plain.nginxCPU.Round(time.Millisecond).String(), alt, 0)
	t.add(what+" with the ls-refs cache: commit reaches all agents",
		fmt.Sprintf("%s (%d of %d)", cached.bumpReachAll.Round(time.Millisecond), cached.reached, cached.expectedReach),
		fmt.Sprintf("%s (%d of %d)", plain.bumpReachAll.Round(time.Millisecond), plain.reached, plain.expectedReach), alt, 0)
	t.add(fmt.Sprintf("%s with the ls-refs cache: polls (slots skipped); timed out (no answer in %s); failed", what, fleetPollTimeout),
		cached.polls.counts(), plain.polls.counts(), alt, 0)
	t.add(what+" with the ls-refs cache: poll latency p50 / p90 / p99 / max", cached.polls.latencies(), plain.polls.latencies(), alt, 0)
}
