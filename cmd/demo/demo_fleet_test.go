package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promtest"
)

// TestDemoFleet runs `demo --fleet` for real: five agents, a real
// Prometheus and promote's code take 2.0 from the canary to every host,
// then halt 2.1 at the canary; every process is stopped at the end.
func TestDemoFleet(t *testing.T) {
	t.Parallel()
	promtest.Require(t)
	out, ws := runFleetDemoTest(t, true)
	inOrder(t, out,
		"rollout web-2.0 (2.0)",
		"advance: rollout web-2.0: 0% -> 50% (1 of 1 hosts applied, soaked 2s) [pushed ",
		"hosts (their status): 2.0 on canary-1 | 1.0 on web-01 web-02 web-03 web-04",
		"advance: rollout web-2.0: 50% -> 100% (3 of 3 hosts applied, soaked 2s) [pushed ",
		"hosts (their status): 2.0 on canary-1 web-03 web-04 | 1.0 on web-01 web-02",
		"finish: rollout web-2.0: finished, 2.0 everywhere (5 of 5 hosts applied, soaked 2s) [pushed ",
		"rollout web-2.1 (2.1)",
		"canary-1 is back on 2.0, by its own agent within --health-bake 2s:",
		`"crash_after" (1s)`,
		"halt: rollout web-2.1: halted at 0% (1 host failed, more than max_failed 0 (canary-1)); on_halt revert: percent 0, every host back to from [pushed ",
		"every host on 2.0 after", "0 hosts besides the canary ran 2.1",
		"reconciler fleet --prometheus http://127.0.0.1:",
		"stopped prometheus")
	if strings.Contains(out, "by hand") {
		t.Errorf("with Prometheus, a step was taken by hand")
	}
	fleetTableOn(t, out, "2.0")
	// Prometheus is stopped: its address no longer answers.
	if m := regexp.MustCompile(`reconciler fleet --prometheus (\S+)`).FindStringSubmatch(out); m != nil {
		c := http.Client{Timeout: 2 * time.Second}
		if resp, err := c.Get(m[1] + "/-/ready"); err == nil {
			resp.Body.Close()
			t.Errorf("prometheus still answers at %s after the demo", m[1])
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "prometheus", "prometheus.log")); err != nil {
		t.Errorf("prometheus's log should stay in the workspace: %v", err)
	}
}

// TestDemoFleetWithoutPrometheus runs the fleet demo as it runs where no
// prometheus binary is installed: it says so, takes the same steps by
// hand from the agents' /status, and shows the fleet from there.
func TestDemoFleetWithoutPrometheus(t *testing.T) {
	t.Parallel()
	out, _ := runFleetDemoTest(t, false)
	inOrder(t, out,
		"no prometheus binary installed (apt-get install prometheus)",
		"by hand: rollout web-2.0: 0% -> 50% (1 of 1 hosts applied, soaked 2s) [pushed ",
		"by hand: rollout web-2.0: 50% -> 100% (3 of 3 hosts applied, soaked 2s) [pushed ",
		"by hand: rollout web-2.0: finished, 2.0 everywhere (5 of 5 hosts applied, soaked 2s) [pushed ",
		"canary-1 is back on 2.0, by its own agent within --health-bake 2s:",
		"by hand: rollout web-2.1: halted at 0% (1 host failed: canary-1); on_halt revert: percent 0, every host back to from [pushed ",
		"0 hosts besides the canary ran 2.1",
		"the fleet, from each agent's /status")
	if strings.Contains(out, "stopped prometheus") {
		t.Errorf("without Prometheus, the demo started one")
	}
	fleetTableOn(t, out, "2.0")
}

// runFleetDemoTest runs the fleet demo in a new workspace and checks it
// succeeded and left no app running.
func runFleetDemoTest(t *testing.T, withProm bool) (string, string) {
	ws := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	err := runFleetDemo(context.Background(), &out, &errOut, fleetOptions{workdir: ws, prometheus: withProm})
	t.Log(out.String())
	if err != nil {
		logs, _ := os.ReadFile(filepath.Join(ws, "agents.log"))
		t.Fatalf("demo --fleet: %v\n%s\nagents.log:\n%s", err, errOut.String(), logs)
	}
	for _, h := range fleetHostIDs {
		if pid := readPIDIfAny(filepath.Join(ws, "srv", h)); pid != 0 {
			t.Errorf("the demo left the app of %s running (pid %d)", h, pid)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "deploy.git", "HEAD")); err != nil {
		t.Errorf("the workspace should stay for a look: %v", err)
	}
	return out.String(), ws
}

// inOrder checks that out says each of wants, in this order.
func inOrder(t *testing.T, out string, wants ...string) {
	t.Helper()
	rest := out
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			if strings.Contains(out, w) {
				t.Errorf("output says %q out of order", w)
			} else {
				t.Errorf("output lacks %q", w)
			}
			continue
		}
		rest = rest[i+len(w):]
	}
}

// fleetTableOn checks the closing fleet table names every host on v,
// without an error.
func fleetTableOn(t *testing.T, out, v string) {
	t.Helper()
	for _, h := range fleetHostIDs {
		re := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(h) + `\s+web\s+` + regexp.QuoteMeta(v) + `\s+[0-9a-f]{12}\s+web-2\.1 (failed|out)\s+\S+ ago\s+-$`)
		if !re.MatchString(out) {
			t.Errorf("the fleet table has no line for %s on %s, without error", h, v)
		}
	}
}
