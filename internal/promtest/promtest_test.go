package promtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/reconciler-dev/reconciler/internal/promtest"
)

// TestPrometheusScrapesAgents: a real Prometheus scrapes two agents every
// second, and what they report changes in its answers.
func TestPrometheusScrapesAgents(t *testing.T) {
	a, b := promtest.NewAgent("web-1"), promtest.NewAgent("web-2")
	defer a.Close()
	defer b.Close()
	a.SetRollout("web-2.0", "pending", 10)
	b.SetRollout("web-2.0", "out", 10)
	s := promtest.New(t, promtest.Options{Targets: map[string][]string{"reconciler": {a.Addr, b.Addr}}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitUp(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	prom := v1.NewAPI(c)
	states := func() map[string]string {
		v, _, _, err := prom.Query(ctx, `reconciler_rollout_state{rollout="web-2.0"} == 1`, time.Time{})
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		got := map[string]string{}
		for _, s := range v.(model.Vector) {
			got[string(s.Metric["host_id"])] = string(s.Metric["state"])
			if s.Metric["instance"] == "" || s.Metric["job"] != "reconciler" {
				t.Errorf("series %v: want instance and job labels", s.Metric)
			}
		}
		return got
	}
	if got := states(); got["web-1"] != "pending" || got["web-2"] != "out" {
		t.Errorf("states: got %v, want web-1 pending, web-2 out", got)
	}
	a.SetRollout("web-2.0", "applied", 10)
	for states()["web-1"] != "applied" { // the old series goes stale at the next scrape
		select {
		case <-ctx.Done():
			t.Fatalf("web-1 still %v", states())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
