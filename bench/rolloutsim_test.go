package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// The simulated hosts do what the agent does with a rollout: the canary
// alone takes a release that crashes on start, fails, stays on from and
// reports failed whatever later commits of that rollout say; a good
// release goes to the wave, then everywhere; a plain file drops the
// rollout series.
func TestRolloutSimApply(t *testing.T) {
	metrics := promtest.NewHosts()
	defer metrics.Close()
	s := &rolloutSim{path: rolloutPath, crashes: crashVersion, metrics: metrics}
	for i := range 20 {
		s.hosts = append(s.hosts, &simHost{id: hostName(i), failed: map[string]bool{}, ran: map[string]bool{}})
	}
	read := func(data []byte) reconcile.Desired {
		t.Helper()
		d, err := reconcile.ParseDesired(rolloutPath, data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		return d
	}
	all := func(d reconcile.Desired) {
		for _, h := range s.hosts {
			s.apply(h, d)
		}
	}
	all(read(plainFile(fromVersion)))

	crash := read(rolloutFile(crashVersion, 3*time.Second))
	all(crash)
	if got := s.ran(crashVersion); strings.Join(got, ",") != "web-0001" {
		t.Errorf("hosts that ran %s: got %v, want the canary web-0001 only", crashVersion, got)
	}
	hundred := 100.0
	crash.Rollout.Percent = &hundred // a person widens it anyway
	all(crash)
	if h := s.hosts[0]; h.current != fromVersion || !h.failed["web-"+crashVersion] {
		t.Errorf("canary: runs %s, failed %v; want %s, failed", h.current, h.failed, fromVersion)
	}
	body := scrapeBody(t, metrics.Addr)
	if want := `reconciler_rollout_state{host_id="web-0001",rollout="web-2.0",state="failed"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}

	all(read(rolloutFile(goodVersion, 3*time.Second)))
	if h := s.hosts[0]; h.current != goodVersion {
		t.Errorf("canary of %s: runs %s", goodVersion, h.current)
	}
	all(read(plainFile(goodVersion)))
	for _, h := range s.hosts {
		if h.current != goodVersion {
			t.Errorf("%s after the finish: runs %s, want %s", h.id, h.current, goodVersion)
		}
	}
	if body := scrapeBody(t, metrics.Addr); strings.Contains(body, "reconciler_rollout_state{") {
		t.Errorf("a plain file left rollout series:\n%s", body)
	}
}

func scrapeBody(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
