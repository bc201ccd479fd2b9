package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// agentRefsRows (issue 26) measure what a no-change poll of the agent
// costs the git host with --agent-path (the agent's own file in the app's
// repo and ref) and without: the requests, and the ref listings among
// them, that a real smart-HTTP git server (git http-backend, protocol v2)
// answered per poll, over o.polls seconds of `@every 1s`.
func agentRefsRows(ctx context.Context, t *table, work string, o options) error {
	dir := filepath.Join(work, "agentrefs")
	self := filepath.Join(dir, "reconciler-1")
	if err := buildBinary(self, "./cmd/reconciler", "-X main.version=1"); err != nil {
		return err
	}
	apps, err := appBuilds(filepath.Join(dir, "apps"), 1)
	if err != nil {
		return err
	}
	srv, err := gittest.NewServer(dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	var without pollCostOf
	for _, agentPath := range []bool{false, true} {
		p, err := agentPollCost(ctx, dir, self, apps, srv, agentPath, o.polls)
		if err != nil {
			return fmt.Errorf("--agent-path %v: %w", agentPath, err)
		}
		if !agentPath {
			without = p
			continue
		}
		t.add(fmt.Sprintf("git requests per no-change poll with --agent-path, same repo and ref (%.0f polls)", p.polls),
			p.String(), without.String(), "without --agent-path", p.requests/without.requests)
	}
	return nil
}

// pollCostOf is what the git server answered per no-change poll.
type pollCostOf struct{ polls, requests, listings float64 }

func (p pollCostOf) String() string {
	return fmt.Sprintf("%.2f (%.2f ref listings)", p.requests, p.listings)
}

// agentPollCost runs the agent self (version 1) on a new deploy repo served by
// srv, with --agent-path naming an agent file of version 1 (nothing to
// update) or without, and counts the server's answers over n seconds of
// no-change polls.
func agentPollCost(ctx context.Context, dir, self string, apps map[int]string, srv *gittest.HTTPServer, agentPath bool, n int) (pollCostOf, error) {
	name := map[bool]string{false: "plain", true: "agentpath"}[agentPath]
	extra := []string{"--repo", srv.URL + "/" + name + "-repo"} // over startAgentBench's file:// URL
	if agentPath {
		extra = append(extra, "--agent-path", "agent.conf", "--agent-dir", filepath.Join(dir, name+"-agentdir"))
	}
	b, err := startAgentBench(dir, name, self, apps, extra...)
	if err != nil {
		return pollCostOf{}, err
	}
	defer b.stop()
	if err := b.waitServing(1, time.Minute); err != nil {
		return pollCostOf{}, err
	}
	if agentPath { // the agent's own file, naming the version that runs
		file := fmt.Sprintf(`{"version":"1","bin":{"url":"http://127.0.0.1:9/reconciler","sha256":%q}}`, strings.Repeat("a", 64))
		if err := os.WriteFile(filepath.Join(b.repo, "agent.conf"), []byte(file), 0o644); err != nil {
			return pollCostOf{}, err
		}
		if err := runCmd(b.repo, "git", "add", "agent.conf"); err != nil {
			return pollCostOf{}, err
		}
		if err := runCmd(b.repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
			"commit", "-q", "-m", "agent 1", "agent.conf"); err != nil {
			return pollCostOf{}, err
		}
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil { // the commit fetched, the polls back to no change
		return pollCostOf{}, err
	}
	sample := `reconciler_polls_total{result="unchanged"}`
	s0, p0 := srv.Stats(), b.metric(sample)
	if err := sleepCtx(ctx, time.Duration(n)*time.Second); err != nil {
		return pollCostOf{}, err
	}
	s1, p1 := srv.Stats(), b.metric(sample)
	polls := p1 - p0
	if polls <= 0 {
		return pollCostOf{}, fmt.Errorf("no no-change polls in %d s", n)
	}
	return pollCostOf{polls: polls, requests: float64(s1.Requests-s0.Requests) / polls,
		listings: float64(s1.RefListings-s0.RefListings) / polls}, nil
}
