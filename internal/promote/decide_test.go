package promote_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promote"
	"github.com/reconciler-dev/reconciler/reconcile"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// desiredWith returns web 2.0 rolled out from 1.9 with this rollout block
// body (inside the braces, after "from").
func desiredWith(t *testing.T, body string) reconcile.Desired {
	t.Helper()
	file := fmt.Sprintf(`{"version": "2.0", "bin": {"url": "https://a.example/web/2.0", "sha256": %q},
		"rollout": {"id": "web-2.0", "from": {"version": "1.9", "bin": {"url": "https://a.example/web/1.9", "sha256": %q}}, %s}}`, sha, sha, body)
	d, err := reconcile.ParseDesired("web/current.conf", []byte(file))
	if err != nil {
		t.Fatalf("ParseDesired: %v", err)
	}
	return d
}

const (
	steps     = `"steps": [{"percent": 0, "soak": "30m"}, {"percent": 10, "soak": "1h"}, {"percent": 50, "soak": "1h"}, {"percent": 100, "soak": "30m"}]`
	errorRate = `sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`
	latency   = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`
	checks    = `"checks": [{"query": ` + "\"sum(rate(http_requests_total{code=~\\\"5..\\\"}[5m])) / sum(rate(http_requests_total[5m]))\"" + `, "max": 0.01},
	                        {"query": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", "min": 0, "max": 0.5}]`
)

func applied(id string, pct float64) agent { return agent{id: id, state: "applied", percent: pct} }
func out(id string, pct float64) agent     { return agent{id: id, state: "out", percent: pct} }

// TestDecide: every rule of the decision, against a fake Prometheus that
// answers in the real API's JSON.
func TestDecide(t *testing.T) {
	healthy := []agent{applied("web-1", 10), applied("web-2", 10), out("web-3", 10)}
	good := map[string][]fakeSeries{errorRate: {constant(0.001)}, latency: {constant(0.2)}}
	with := func(q string, s ...fakeSeries) map[string][]fakeSeries {
		m := map[string][]fakeSeries{}
		for k, v := range good {
			m[k] = v
		}
		m[q] = s
		return m
	}
	for _, tc := range []struct {
		name    string
		rollout string // the rollout block's body
		since   time.Time
		agents  []agent
		checks  map[string][]fakeSeries
		refuse  string // a check query Prometheus refuses
		action  promote.Action
		why     string // part of the evidence
		to      float64
		queries int // -1: not checked
	}{
		{name: "halted rollout holds, asks nothing",
			rollout: `"percent": 10, ` + steps + `, "halted": {"reason": "5xx up", "time": "2026-03-01T11:00:00Z"}`,
			agents:  healthy, checks: good, action: promote.Hold, why: "halted 2026-03-01T11:00:00Z: 5xx up; a person decides", to: 10, queries: 0},
		{name: "no agent reports the rollout",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			checks:  good, action: promote.Hold, why: "missing data: no agent reports rollout web-2.0", to: 10, queries: 3},
		{name: "a host in the wave not yet applied",
			rollout: `"percent": 10, ` + steps,
			agents:  []agent{applied("web-1", 10), {id: "web-2", state: "pending", percent: 10}, out("web-3", 10)},
			action:  promote.Hold, why: "1 of 2 hosts in the wave not yet applied (web-2)", to: 10, queries: 1},
		{name: "a host has not read the current percent",
			rollout: `"percent": 50, ` + steps,
			agents:  []agent{applied("web-1", 50), out("web-3", 10)},
			action:  promote.Hold, why: "1 of 2 hosts have not read 50% yet (web-3)", to: 50},
		{name: "an agent reporting two states is missing data",
			rollout: `"percent": 10, ` + steps,
			agents:  []agent{applied("web-1", 10), {id: "web-2", state: "applied", extraState: "pending", percent: 10}},
			action:  promote.Hold, why: "missing data: 1 host report no rollout state, or several (web-2)", to: 10},
		{name: "a check without a result",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: with(latency), action: promote.Hold, why: "missing data: check 2 (histogram_quantile", to: 10},
		{name: "a check with two series",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: with(errorRate, constant(0.001), fakeSeries{labels: map[string]string{"job": "b"}, at: constant(0.002).at}),
			action: promote.Hold, why: "missing data: check 1 (sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[…): 2 series, not one number", to: 10},
		{name: "a check answering NaN",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: with(errorRate, constant(math.NaN())), action: promote.Hold, why: "check 1", to: 10},
		{name: "a check Prometheus refuses",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: good, refuse: latency, action: promote.Hold, why: "missing data: check 2 (histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket…): Prometheus refused the query: bad_data: parse error", to: 10},
		{name: "a check above max halts and reverts",
			rollout: `"percent": 10, "canary": ["web-1"], ` + steps + `, ` + checks,
			agents:  healthy, checks: with(errorRate, constant(0.05)), action: promote.Halt, why: "check 1 out of bounds: 0.05 > max 0.01", to: 0},
		{name: "a check below min halts; freeze keeps the wave",
			rollout: `"percent": 10, "on_halt": "freeze", ` + steps + `, ` + checks,
			agents:  healthy, checks: with(latency, constant(-1)), action: promote.Halt, why: "check 2 out of bounds: -1 < min 0", to: 10},
		{name: "a check on its bound passes",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: with(errorRate, constant(0.01)), action: promote.Advance, why: "2 of 2 hosts applied, 2 checks pass, soaked 1h", to: 50},
		{name: "a halt wins over missing data",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  []agent{{id: "web-1", state: "failed", percent: 10}}, checks: with(latency),
			action: promote.Halt, why: "1 host failed, more than max_failed 0 (web-1)", to: 0},
		{name: "failed hosts within max_failed advance",
			rollout: `"percent": 10, "max_failed": 1, ` + steps,
			agents:  []agent{applied("web-1", 10), {id: "web-2", state: "failed", percent: 10}},
			action:  promote.Advance, why: "1 of 2 hosts applied, 1 failed (within max_failed), soaked 1h", to: 50},
		{name: "healthy for less than the soak",
			rollout: `"percent": 10, ` + steps,
			agents:  []agent{applied("web-1", 10), {id: "web-2", state: "applied", percent: 10, from: now.Add(-25 * time.Minute), before: "pending", beforePercent: 10}},
			action:  promote.Hold, why: "soaking: healthy for 25m of 1h (2 of 2 hosts applied)", to: 10},
		{name: "the soak does not count from before the commit",
			rollout: `"percent": 10, ` + steps, since: now.Add(-20 * time.Minute),
			agents: healthy, action: promote.Hold, why: "soaking: healthy for 20m of 1h", to: 10},
		{name: "a gap in a check's data restarts the soak",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: with(errorRate, except(0.001, now.Add(-41*time.Minute), now.Add(-40*time.Minute))),
			action: promote.Hold, why: "soaking: healthy for 40m of 1h", to: 10},
		{name: "a host that had not seen the percent restarts the soak",
			rollout: `"percent": 10, ` + steps,
			agents:  []agent{applied("web-1", 10), {id: "web-2", state: "out", percent: 10, from: now.Add(-10 * time.Minute), before: "out", beforePercent: 0}},
			action:  promote.Hold, why: "soaking: healthy for 10m of 1h", to: 10},
		{name: "a canary that does not report is missing data",
			rollout: `"percent": 10, "canary": ["web-9"], ` + steps,
			agents:  healthy, action: promote.Hold, why: "missing data: canary web-9 not reporting rollout web-2.0", to: 10},
		{name: "healthy and soaked: advance",
			rollout: `"percent": 10, ` + steps + `, ` + checks,
			agents:  healthy, checks: good, action: promote.Advance, why: "2 of 2 hosts applied, 2 checks pass, soaked 1h", to: 50, queries: 3},
		{name: "from 0% with a canary",
			rollout: `"percent": 0, "canary": ["web-1"], ` + steps,
			agents:  []agent{applied("web-1", 0), out("web-2", 0)}, action: promote.Advance, why: "1 of 1 hosts applied, soaked 30m", to: 10},
		{name: "between steps: the soak of the step below, the next step above",
			rollout: `"percent": 25, "steps": [{"percent": 10, "soak": "1h"}, {"percent": 50, "soak": "2h"}]`, since: now.Add(-61 * time.Minute),
			agents: []agent{applied("web-1", 25)}, action: promote.Advance, why: "soaked 1h", to: 50},
		{name: "past the last step: on to 100",
			rollout: `"percent": 60, "steps": [{"percent": 10, "soak": "1h"}, {"percent": 50, "soak": "5m"}]`,
			agents:  []agent{applied("web-1", 60)}, action: promote.Advance, why: "soaked 5m", to: 100},
		{name: "no steps: straight to 100",
			rollout: `"percent": 10`, agents: []agent{applied("web-1", 10)}, action: promote.Advance, why: "1 of 1 hosts applied, no soak", to: 100},
		{name: "at 100% and soaked: finish",
			rollout: `"percent": 100, ` + steps,
			agents:  []agent{applied("web-1", 100), applied("web-2", 100)}, action: promote.Finish, why: "2 of 2 hosts applied, soaked 30m", to: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := desiredWith(t, tc.rollout)
			f := newFakeProm(t)
			f.add(agentsQuery) // an empty answer unless agents say otherwise
			for _, a := range tc.agents {
				f.add(agentsQuery, a.series("web-2.0")...)
			}
			for q, s := range tc.checks {
				f.add(q, s...)
			}
			if tc.refuse != "" {
				f.refuse[tc.refuse] = "parse error at char 3"
			}
			since := tc.since
			if since.IsZero() {
				since = now.Add(-3 * time.Hour)
			}
			c, err := promote.NewClient(f.srv.URL, nil, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := promote.Decide(t.Context(), c, promote.Input{Desired: d, Since: since, Now: now})
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if dec.Action != tc.action || !strings.Contains(dec.Why, tc.why) || dec.To != tc.to {
				t.Errorf("got %s to %v (%s), want %s to %v (with %q)", dec.Action, dec.To, dec.Why, tc.action, tc.to, tc.why)
			}
			if tc.queries != 0 || tc.name == "halted rollout holds, asks nothing" {
				if got := len(f.asked()); got != tc.queries || c.Queries() != int64(tc.queries) {
					t.Errorf("queries: got %d (client counted %d), want %d: %q", got, c.Queries(), tc.queries, f.asked())
				}
			}
			checkNext(t, d, dec)
		})
	}
}

// checkNext checks the file a decision would commit: none for a hold; the
// next percent and nothing else changed for an advance; halted for a
// halt; no rollout for a finish. And agents must accept it.
func checkNext(t *testing.T, d reconcile.Desired, dec promote.Decision) {
	t.Helper()
	if dec.Action == promote.Hold {
		if dec.Next != nil {
			t.Errorf("hold with a file to commit")
		}
		return
	}
	if dec.Next == nil {
		t.Fatalf("%s without a file to commit", dec.Action)
	}
	data, err := dec.Next.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	got, err := reconcile.ParseDesired("web/current.conf", data)
	if err != nil {
		t.Fatalf("the %s file does not parse: %v\n%s", dec.Action, err, data)
	}
	if got.Version != d.Version || got.Bin.URL != d.Bin.URL {
		t.Errorf("the %s file changed the release: %s", dec.Action, data)
	}
	r := got.Rollout
	switch dec.Action {
	case promote.Finish:
		if r != nil {
			t.Errorf("finish kept the rollout block:\n%s", data)
		}
	case promote.Advance:
		if *r.Percent != dec.To || r.Halted != nil || len(r.Canary) != len(d.Rollout.Canary) || r.OnHaltPolicy() != d.Rollout.OnHaltPolicy() {
			t.Errorf("advance to %v wrote:\n%s", dec.To, data)
		}
	case promote.Halt:
		revert := d.Rollout.OnHaltPolicy() == reconcile.OnHaltRevert
		switch {
		case r.Halted == nil || !strings.Contains(r.Halted.Reason, dec.Why) || !r.Halted.Time.Equal(now):
			t.Errorf("halt wrote halted %+v, want the reason %q at %s", r.Halted, dec.Why, now)
		case revert && (*r.Percent != 0 || len(r.Canary) != 0):
			t.Errorf("halt with on_halt revert kept a wave:\n%s", data)
		case !revert && (*r.Percent != *d.Rollout.Percent || len(r.Canary) != len(d.Rollout.Canary)):
			t.Errorf("halt with on_halt freeze changed the wave:\n%s", data)
		}
	}
}

// TestDecideAgentAndAppShareAnID: an app's rollout and the agent's own
// (run --agent-path: series with the agent label) under one id, as when
// both default the id to the same version, are judged apart: the app's
// file by the apps' series (all applied: advance), the agent's file by
// the agent's (one failed: halt), whichever the other says.
func TestDecideAgentAndAppShareAnID(t *testing.T) {
	d := desiredWith(t, `"percent": 10, `+steps)
	f := newFakeProm(t)
	for _, a := range []agent{applied("web-1", 10), applied("web-2", 10), out("web-3", 10),
		{id: "web-1", state: "failed", percent: 10, agentFile: "agent.conf"}, {id: "web-2", state: "pending", percent: 10, agentFile: "agent.conf"},
		{id: "web-3", state: "out", percent: 10, agentFile: "agent.conf"}} {
		f.add(agentsQuery, a.series("web-2.0")...)
	}
	c, err := promote.NewClient(f.srv.URL, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		action promote.Action
		why    string
	}{
		{"web/current.conf", promote.Advance, "2 of 2 hosts applied"},
		{"agent.conf", promote.Halt, "1 host failed, more than max_failed 0 (web-1)"},
	} {
		dec, err := promote.Decide(t.Context(), c, promote.Input{Desired: d, Since: now.Add(-3 * time.Hour), Now: now, Path: tc.path})
		if err != nil {
			t.Fatalf("%s: Decide: %v", tc.path, err)
		}
		if dec.Action != tc.action || !strings.Contains(dec.Why, tc.why) {
			t.Errorf("%s: got %s (%s), want %s (with %q)", tc.path, dec.Action, dec.Why, tc.action, tc.why)
		}
	}
}

// TestDecideUnanswered: when Prometheus does not answer (down, a proxy's
// error page), nothing is decided: an error, not a hold.
func TestDecideUnanswered(t *testing.T) {
	d := desiredWith(t, `"percent": 10, `+checks)
	for _, tc := range []struct {
		name  string
		setup func(f *fakeProm) string
	}{
		{"502 from a proxy", func(f *fakeProm) string { f.status = http.StatusBadGateway; return f.srv.URL }},
		{"connection refused", func(f *fakeProm) string { f.srv.Close(); return f.srv.URL }},
		{"the agents' query refused", func(f *fakeProm) string { f.refuse[agentsQuery] = "bad"; return f.srv.URL }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t)
			c, err := promote.NewClient(tc.setup(f), nil, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := promote.Decide(t.Context(), c, promote.Input{Desired: d, Since: now.Add(-time.Hour), Now: now})
			if err == nil {
				t.Fatalf("Decide: got %s (%s), want an error", dec.Action, dec.Why)
			}
			if tc.name != "the agents' query refused" && !errors.Is(err, promote.ErrUnanswered) {
				t.Errorf("Decide: got %v, want ErrUnanswered", err)
			}
		})
	}
}

// TestSubject: the commit subjects and printed lines of each decision.
func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		dec  promote.Decision
		want string
	}{
		{promote.Decision{Action: promote.Advance, Rollout: "web-2.0", Percent: 10, To: 50, Why: "12 of 12 hosts applied, soaked 1h"},
			"rollout web-2.0: 10% -> 50% (12 of 12 hosts applied, soaked 1h)"},
		{promote.Decision{Action: promote.Hold, Rollout: "web-2.0", Percent: 0.5, Why: "soaking: healthy for 5m of 1h"},
			"rollout web-2.0 at 0.5%: soaking: healthy for 5m of 1h"},
		{promote.Decision{Action: promote.Halt, Rollout: "web-2.0", Percent: 50, OnHalt: "revert", Why: "2 hosts failed"},
			"rollout web-2.0: halted at 50% (2 hosts failed); on_halt revert: percent 0, every host back to from"},
		{promote.Decision{Action: promote.Halt, Rollout: "web-2.0", Percent: 50, OnHalt: "freeze", Why: "x"},
			"rollout web-2.0: halted at 50% (x); on_halt freeze: hosts stay where they are"},
		{promote.Decision{Action: promote.Finish, Rollout: "web-2.0", Version: "2.0", Percent: 100, Why: "4 of 4 hosts applied, soaked 30m"},
			"rollout web-2.0: finished, 2.0 everywhere (4 of 4 hosts applied, soaked 30m)"},
	} {
		if got := tc.dec.Subject(); got != tc.want {
			t.Errorf("Subject: got %q, want %q", got, tc.want)
		}
		if msg := tc.dec.Message(); !strings.HasPrefix(msg, tc.want+"\n\n") {
			t.Errorf("Message: got %q, want it to start with the subject", msg)
		}
	}
}

// TestSameWave: what restarts a soak.
func TestSameWave(t *testing.T) {
	base := desiredWith(t, `"percent": 10, "canary": ["a", "b"], `+steps)
	for _, tc := range []struct {
		body string
		same bool
	}{
		{`"percent": 10, "canary": ["b", "a"], ` + steps, true},
		{`"percent": 10, "canary": ["a", "b"], "max_failed": 2, ` + checks, true},
		{`"percent": 50, "canary": ["a", "b"], ` + steps, false},
		{`"percent": 10, "canary": ["a"], ` + steps, false},
		{`"percent": 10, "canary": ["a", "b"], "halted": {"reason": "x", "time": "2026-01-01T00:00:00Z"}`, false},
	} {
		if got := promote.SameWave(base, desiredWith(t, tc.body)); got != tc.same {
			t.Errorf("SameWave(%s): got %v, want %v", tc.body, got, tc.same)
		}
	}
	plain := base
	plain.Rollout = nil
	if promote.SameWave(base, plain) {
		t.Errorf("SameWave with a file without rollout: got true")
	}
}
