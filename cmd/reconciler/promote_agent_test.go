package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/internal/svctest"
)

// agentRolloutFile is an agent file rolling agent 2 out from agent 1
// (the bytes of bin1 and bin2, put on the artifact server): canary-a
// first at 0%, then 100%, each step soaked 1s, with a check on
// reconciler_agent_info.
func (d *deployRepo) agentRolloutFile(t *testing.T, bin1, bin2 string) string {
	t.Helper()
	art := func(v, bin string) string {
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		url, digest := d.art.put("/agent-"+v, data)
		return fmt.Sprintf(`"version": %q, "bin": {"url": %q, "sha256": %q}`, v, url, digest)
	}
	return fmt.Sprintf(`{%s, "rollout": {"id": "agent-2", "from": {%s}, "canary": ["canary-a"], "percent": 0,
  "steps": [{"percent": 0, "soak": "1s"}, {"percent": 100, "soak": "1s"}],
  "checks": [{"query": "count(reconciler_agent_info{version=\"2\"})", "min": 1}]}}`, art("2", bin2), art("1", bin1))
}

// startAgentHost runs agent bin as host id under a systemd-like
// supervisor, following repo's app file and agent file; it returns its
// --listen address.
func startAgentHost(t *testing.T, bin, repo, host string) string {
	t.Helper()
	listen, log := freeAddr(t), &syncBuffer{}
	args := []string{"run", "--repo", repo, "--path", "web/current.conf", "--dir", filepath.Join(t.TempDir(), host),
		"--host-id", host, "--schedule", "@every 1s", "--listen", listen, "--restart", "none",
		"--agent-path", "agent.conf", "--agent-dir", filepath.Join(t.TempDir(), "agent"), "--agent-confirm-timeout", "20s",
		"--log-format", "json"}
	svc, err := svctest.Start(svctest.Options{Path: bin, Args: args, Env: serviceEnv(), Dir: t.TempDir(),
		Stdout: log, Stderr: log, Log: log, SocketDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := svc.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("agent %s log:\n%s", host, log.String())
		}
	})
	return listen
}

// TestPromoteMovesAgentRollout: two real agents (run --agent-path under a
// systemd-like supervisor) follow an agent file with a rollout block; a
// real Prometheus scrapes them; reconciler promote --path agent.conf
// alone takes agent 2 from its canary to both hosts and finishes the
// rollout, judging by the agents' own rollout series and a check on
// reconciler_agent_info.
func TestPromoteMovesAgentRollout(t *testing.T) {
	promtest.Require(t)
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	d := newDeployRepo(t)
	d.release("1")
	d.WriteFile("agent.conf", []byte(d.agentRolloutFile(t, bin1, bin2)))
	d.Commit("agent 2 rollout")
	bare := filepath.Join(t.TempDir(), "deploy.git")
	d.Git("clone", "-q", "--bare", d.Dir, bare)
	repo := "file://" + bare

	// Bucket of web-001 in rollout agent-2: out at 0%.
	hosts := map[string]string{}
	var targets []string
	for _, h := range []string{"canary-a", "web-001"} {
		hosts[h] = startAgentHost(t, bin1, repo, h)
		targets = append(targets, hosts[h])
	}
	prom := promtest.New(t, promtest.Options{Targets: map[string][]string{"agents": targets}})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := prom.WaitUp(ctx, 2); err != nil {
		t.Fatal(err)
	}
	reports := func(h, v string) bool {
		a := &agentService{listen: hosts[h]}
		return a.reports(v)
	}
	waitLong(t, "the canary on agent 2, web-001 on agent 1", func() bool { return reports("canary-a", "2") && reports("web-001", "1") })

	deadline := time.Now().Add(120 * time.Second)
	var moves []string
	for {
		out, errOut, code := runCLI(t, "promote", "--repo", repo, "--path", "agent.conf", "--prometheus", prom.URL)
		if code != 0 || strings.HasPrefix(out, "halt") {
			t.Fatalf("promote: exit %d: %s%s", code, out, errOut)
		}
		if !strings.HasPrefix(out, "hold: ") {
			moves = append(moves, strings.TrimSpace(out))
		}
		if strings.HasPrefix(out, "finish: ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("promote: still %q after %v", out, moves)
		}
		time.Sleep(300 * time.Millisecond)
	}
	want := []string{"0% -> 100% (1 of 1 hosts applied", "finished, 2 everywhere (2 of 2 hosts applied"}
	if len(moves) != len(want) {
		t.Fatalf("promote's moves: got %q, want %d", moves, len(want))
	}
	for i, w := range want {
		if !strings.Contains(moves[i], w) {
			t.Errorf("move %d: got %q, want %q", i+1, moves[i], w)
		}
	}
	for h := range hosts {
		waitLong(t, h+" on agent 2 after the finish", func() bool { return reports(h, "2") })
	}
	if got := d.Git("--git-dir", bare, "log", "-1", "--format=%s", "main"); !strings.HasPrefix(got, "rollout agent-2: finished") {
		t.Errorf("the deploy repo's last commit: %q", got)
	}
}
