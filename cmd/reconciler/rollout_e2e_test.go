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
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// TestRolloutHaltsCrashingCanary: three real agents, each with its own
// --host-id and its own example app, follow a deploy repo rolling out a
// release that passes its health check and dies a second later; a real
// Prometheus scrapes them. The canary takes it, the agent switches back
// within --health-bake, and reconciler promote halts the rollout (on_halt
// revert): every host runs from, the canary is the only host that ever
// ran the release, and it does not try it again.
func TestRolloutHaltsCrashingCanary(t *testing.T) {
	d := newDeployRepo(t)
	art := func(v string, extra string) string {
		url, digest := d.art.put("/app-"+v, exampleApp(t, v))
		d.WriteFile("web/cfg-"+v+".json", []byte(`{"listen": "127.0.0.1:1", "message": "release `+v+`"`+extra+`}`+"\n"))
		return fmt.Sprintf(`"version": %q, "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "web/cfg-%s.json"}`, v, url, digest, v)
	}
	from, bad := art("1", ""), art("2", `, "crash_after": "1s"`)
	d.commitDesired(`{` + bad + `, "rollout": {"id": "web-2", "from": {` + from + `}, "canary": ["canary-a"], "percent": 0,
		"steps": [{"percent": 0, "soak": "1s"}, {"percent": 50, "soak": "1s"}, {"percent": 100, "soak": "1s"}],
		"max_failed": 0, "on_halt": "revert"}}`)
	bare := filepath.Join(t.TempDir(), "deploy.git")
	d.Git("clone", "-q", "--bare", d.Dir, bare)
	repo := "file://" + bare

	// Each host's app listens on its own port (-listen overrides the
	// shared config), as each would on its own server.
	hosts := []string{"canary-a", "web-001", "web-017"}
	type host struct {
		dir, app string
		agent    *agentProc
	}
	hs := map[string]*host{}
	var listens []string
	for _, h := range hosts {
		x := &host{dir: filepath.Join(t.TempDir(), h), app: freeAddr(t)}
		killApps(t, x.dir)
		listen := freeAddr(t)
		listens = append(listens, listen)
		x.agent = startAgent(t, "--repo", repo, "--path", "web/current.conf", "--dir", x.dir, "--host-id", h,
			"--exec", "./app.bin -c app.cfg -listen "+x.app, "--health-url", "http://"+x.app+"/healthz",
			"--health-timeout", "10s", "--health-bake", "3s", "--schedule", "@every 1s", "--listen", listen, "--log-format", "json")
		hs[h] = x
	}
	serves := func(h, v string) func() bool {
		return func() bool { return strings.HasPrefix(testkit.Answer(hs[h].app), "exampleapp "+v+":") }
	}
	for _, h := range hosts[1:] {
		waitFor(t, h+" to install from (1)", serves(h, "1"))
	}
	prom := promtest.New(t, promtest.Options{Targets: map[string][]string{"web": listens}})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := prom.WaitUp(ctx, len(hosts)); err != nil {
		t.Fatal(err)
	}

	var decisions []string
	for deadline := time.Now().Add(90 * time.Second); ; {
		out, errOut, code := runCLI(t, "promote", "--repo", repo, "--path", "web/current.conf", "--prometheus", prom.URL)
		if code != 0 {
			t.Fatalf("promote: exit %d: %s%s", code, out, errOut)
		}
		decisions = append(decisions, strings.TrimSpace(out))
		if strings.HasPrefix(out, "halt") {
			break
		}
		if !strings.HasPrefix(out, "hold") {
			t.Fatalf("promote moved a crashing release on: %q", decisions)
		}
		if time.Now().After(deadline) {
			t.Fatalf("promote did not halt: %q", decisions)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if last := decisions[len(decisions)-1]; !strings.Contains(last, "1 host failed") {
		t.Errorf("the halt does not say a host failed: %q", last)
	}
	for _, h := range hosts {
		waitFor(t, h+" on from (1) after the halt", serves(h, "1"))
	}
	waitFor(t, "the canary to report itself failed", func() bool {
		st := (&agentFixture{agentProc: &agentProc{listen: listens[0]}}).status(t)
		return st.Rollout != nil && st.Rollout.State == "failed"
	})
	for _, h := range hosts[1:] {
		if _, err := os.Stat(filepath.Join(hs[h].dir, "release", "app.2")); err == nil {
			t.Errorf("%s downloaded the crashing release; only the canary should ever have run it", h)
		}
	}
	// Not retried: a few polls later the canary switched to 2 once.
	time.Sleep(3 * time.Second)
	if n := strings.Count(hs["canary-a"].agent.logs.String(), `"msg":"links switched","dir":"`+hs["canary-a"].dir+`","bin":"release/app.2"`); n != 1 {
		t.Errorf("the canary switched to 2 %d times, want once:\n%s", n, hs["canary-a"].agent.logs.String())
	}
	if got := d.Git("--git-dir", bare, "log", "-1", "--format=%s", "main"); !strings.HasPrefix(got, "rollout web-2: halted") {
		t.Errorf("the deploy repo's last commit: %q", got)
	}
}
