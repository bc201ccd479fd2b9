package promtest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
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
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	prom := scraping(ctx, t, a.Addr, b.Addr)
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

// TestHosts: one endpoint serves many hosts' series, each host told apart
// by host_id, each with one state; a real Prometheus scrapes it as one
// target and sees every host, and a host's new state replaces its old.
func TestHosts(t *testing.T) {
	h := promtest.NewHosts()
	defer h.Close()
	for _, id := range []string{"web-0001", "web-0002", "web-0003"} {
		h.SetUp(id, true)
		h.SetRollout(id, "web-2.0", "out", 0)
	}
	h.SetRollout("web-0001", "web-2.0", "applied", 10)
	h.DropRollouts("web-0003")

	resp, err := http.Get("http://" + h.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`reconciler_rollout_state{host_id="web-0001",rollout="web-2.0",state="applied"} 1`,
		`reconciler_rollout_percent{host_id="web-0001",rollout="web-2.0"} 10`,
		`reconciler_rollout_state{host_id="web-0002",rollout="web-2.0",state="out"} 1`,
		`reconciler_host_info{host_id="web-0003"} 1`,
		`reconciler_app_up{host_id="web-0003"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if n := strings.Count(string(body), "reconciler_rollout_state{"); n != 2 {
		t.Errorf("state series: got %d, want 2 (one per host reporting a rollout)", n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	prom := scraping(ctx, t, h.Addr)
	h.SetRollout("web-0002", "web-2.0", "failed", 10)
	for {
		v, _, _, err := prom.Query(ctx, `reconciler_rollout_state{rollout="web-2.0"} == 1`, time.Time{})
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		got := map[string]string{}
		for _, s := range v.(model.Vector) {
			got[string(s.Metric["host_id"])] = string(s.Metric["state"])
		}
		if len(got) == 2 && got["web-0001"] == "applied" && got["web-0002"] == "failed" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("states: got %v, want web-0001 applied, web-0002 failed", got)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scraping starts a real Prometheus scraping targets, waits until it has
// scraped them all, and returns its API.
func scraping(ctx context.Context, t *testing.T, targets ...string) v1.API {
	t.Helper()
	s := promtest.New(t, promtest.Options{Targets: map[string][]string{"reconciler": targets}})
	if err := s.WaitUp(ctx, len(targets)); err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c)
}
