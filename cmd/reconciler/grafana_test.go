package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboardQueries returns every PromQL expression of the Grafana
// dashboard in docs/grafana.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../docs/grafana/reconciler-fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("docs/grafana/reconciler-fleet.json: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// TestGrafanaDashboard: every metric the dashboard queries is one the agent
// exports (a renamed metric breaks a panel silently otherwise), and the
// dashboard shows what the reference promises it shows.
func TestGrafanaDashboard(t *testing.T) {
	exported := registeredMetrics()
	used := map[string]bool{}
	for _, e := range dashboardQueries(t) {
		for _, name := range regexp.MustCompile(`reconciler_[a-z_]+`).FindAllString(e, -1) {
			family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if !slices.Contains(exported, family) {
				t.Errorf("the dashboard queries %s, which the agent does not export: %s", name, e)
			}
			used[family] = true
		}
	}
	for _, want := range []string{"reconciler_applied_info", "reconciler_rollout_state", "reconciler_polls_total",
		"reconciler_switches_total", "reconciler_rollbacks_total"} {
		if !used[want] {
			t.Errorf("the dashboard shows nothing of %s", want)
		}
	}
}
