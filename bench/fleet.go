package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// fleetResult is what one simulated fleet did to the git server.
type fleetResult struct {
	agents                 int
	serverCPU              time.Duration // git http-backend processes, per minute
	listings, uploads      float64       // GET info/refs and POST git-upload-pack, per minute
	uploadsTotal           int64
	bumpReachAll           time.Duration // from the commit to the last agent having it
	reached, expectedReach int
}

// fleetRows: N simulated agents, each with its own deploy repo cache and a
// random phase (the jitter), poll one smart-HTTP git server on 127.0.0.1.
// Halfway through, a commit lands; we measure the git server's CPU (the
// http-backend processes are this process's children), requests per
// minute, and how long the commit takes to reach every agent. The same
// fleet doing a `git fetch` per poll (the git CLI, as a cron job would)
// is measured at the smallest N.
func fleetRows(t *table, work string, o options) error {
	root := filepath.Join(work, "fleet")
	bare := filepath.Join(root, "deploy.git")
	if err := makeRepo(bare, 10, 0, []byte(`{"version":"1.0","bin":{"path":"web/app"}}`)); err != nil {
		return err
	}
	srv, err := startRemoteGitServer(root)
	if err != nil {
		return err
	}
	defer srv.Close()
	url := srv.URL + "/deploy.git"
	var ours []fleetResult
	for _, n := range o.fleet {
		r, err := runFleet(srv, bare, url, n, o, agentPoll(url, work))
		if err != nil {
			return err
		}
		ours = append(ours, r)
		what := fmt.Sprintf("fleet of %d agents polling every %s for %s", n, o.fleetPeriod, o.fleetFor)
		t.add(what+": git server CPU per minute", r.serverCPU.Round(time.Millisecond).String(), "–", "–", 0)
		t.add(what+": ref listings per minute; upload-pack requests in all", fmt.Sprintf("%.0f; %d", r.listings, r.uploadsTotal), "–", "–", 0)
		t.add(what+": commit reaches all agents", fmt.Sprintf("%s (%d of %d)", r.bumpReachAll.Round(time.Millisecond), r.reached, r.expectedReach), "–", "–", 0)
	}
	n := o.fleet[0]
	cli, err := runFleet(srv, bare, url, n, o, cliPoll(url, work))
	if err != nil {
		return err
	}
	r := ours[0]
	what := fmt.Sprintf("fleet of %d, git server CPU per minute", n)
	t.add(what, r.serverCPU.Round(time.Millisecond).String(), cli.serverCPU.Round(time.Millisecond).String(),
		"the same fleet running `git fetch` per poll", float64(r.serverCPU)/float64(cli.serverCPU))
	// git's protocol v2 costs an up-to-date fetch two requests (info/refs,
	// then an ls-refs POST), each a backend process.
	t.add(fmt.Sprintf("fleet of %d, git requests per minute (GET info/refs + POST upload-pack)", n),
		fmt.Sprintf("%.0f + %.1f", r.listings, r.uploads), fmt.Sprintf("%.0f + %.1f", cli.listings, cli.uploads),
		"the same fleet running `git fetch` per poll", (r.listings+r.uploads)/(cli.listings+cli.uploads))
	for _, r := range ours {
		o.plots.fleetN = append(o.plots.fleetN, float64(r.agents))
		o.plots.fleetCPU = append(o.plots.fleetCPU, ms(r.serverCPU))
	}
	o.plots.fleetCLIN, o.plots.fleetCLICPU = []float64{float64(n)}, []float64{ms(cli.serverCPU)}
	return nil
}

// pollFunc is one agent's poll; it returns the head it now has.
type pollFunc func(ctx context.Context, id int, known string) (string, error)

// agentPoll is the agent's way: a ref listing; a depth-1 fetch only when
// the branch moved.
func agentPoll(url, work string) pollFunc {
	var mu sync.Mutex
	sources := map[int]*gitsrc.Source{}
	return func(ctx context.Context, id int, known string) (string, error) {
		mu.Lock()
		src := sources[id]
		if src == nil {
			var err error
			if src, err = gitsrc.New(gitsrc.Options{URL: url, Timeout: 30 * time.Second}); err != nil {
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
		dir := filepath.Join(work, "fleet-cli", fmt.Sprint(id))
		if known == "" {
			if err := runCmd("", "git", "clone", "-q", "--bare", url, dir); err != nil {
				return "", err
			}
		} else if err := runCmd(dir, "git", "fetch", "-q", "origin", "+refs/heads/main:refs/heads/main"); err != nil {
			return "", err
		}
		out, err := exec.CommandContext(ctx, "git", "--git-dir", dir, "rev-parse", "main").Output()
		return strings.TrimSpace(string(out)), err
	}
}

func runFleet(srv *remoteGitServer, bare, url string, n int, o options, poll pollFunc) (fleetResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.fleetFor+time.Minute)
	defer cancel()
	res := fleetResult{agents: n}
	var mu sync.Mutex
	var bumpRev string
	var bumpAt time.Time
	seen := map[int]time.Time{}
	var wg sync.WaitGroup
	start := time.Now()
	var errOnce error
	for id := 0; id < n; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			known := ""
			next := start.Add(time.Duration(rand.Int64N(int64(o.fleetPeriod))))
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				if time.Since(start) > o.fleetFor {
					return
				}
				head, err := poll(ctx, id, known)
				mu.Lock()
				if err != nil && errOnce == nil {
					errOnce = err
				}
				if head != "" && head == bumpRev && seen[id].IsZero() {
					seen[id] = time.Now()
				}
				mu.Unlock()
				known = head
				next = next.Add(o.fleetPeriod)
			}
		}(id)
	}
	// Settle: every agent has made its first contact before measuring.
	time.Sleep(o.fleetPeriod + time.Second)
	l0, u0 := srv.stats()
	cpu0, t0 := srv.cpu(), time.Now()
	time.Sleep((o.fleetFor - o.fleetPeriod) / 3)
	rev, err := bumpRepo(bare)
	if err != nil {
		return res, err
	}
	mu.Lock()
	bumpRev, bumpAt = rev, time.Now()
	mu.Unlock()
	wg.Wait()
	minutes := time.Since(t0).Minutes()
	l1, u1 := srv.stats()
	res.serverCPU = time.Duration(float64(srv.cpu()-cpu0) / minutes)
	res.listings = float64(l1-l0) / minutes
	res.uploads = float64(u1-u0) / minutes
	res.uploadsTotal = u1 - u0
	res.expectedReach = n
	for _, at := range seen {
		res.reached++
		if d := at.Sub(bumpAt); d > res.bumpReachAll {
			res.bumpReachAll = d
		}
	}
	return res, errOnce
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
