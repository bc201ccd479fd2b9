package selfupdate

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// agentRollout gathers reg and returns the agent's rollout series as
// "rollout host_id state agent percent" lines, sorted.
func agentRollout(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	byKey := map[string]string{}
	var states []string
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if _, ok := l[fleetmetrics.LabelAgent]; !ok {
				continue
			}
			key := l[fleetmetrics.LabelRollout] + " " + l[fleetmetrics.LabelHostID]
			switch f.GetName() {
			case fleetmetrics.NameRolloutState:
				states = append(states, key+" "+l[fleetmetrics.LabelState]+" "+l[fleetmetrics.LabelAgent])
			case fleetmetrics.NameRolloutPercent:
				byKey[key] = fmt.Sprint(m.GetGauge().GetValue())
			}
		}
	}
	for i, s := range states {
		f := strings.Fields(s)
		states[i] = s + " " + byKey[f[0]+" "+f[1]]
	}
	slices.Sort(states)
	return states
}

// TestPollExportsAgentRollout: Poll on a real repo and a real HTTP
// artifact server exports this host's place in the agent file's rollout
// (out, applied, failed once the switch failed, none without a rollout
// block) beside the app's own rollout series in the same registry, as run
// --dir has them, and the registry still gathers.
func TestPollExportsAgentRollout(t *testing.T) {
	script := []byte("#!/bin/sh\nexit 3\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(script) }))
	t.Cleanup(srv.Close)
	bin := fmt.Sprintf(`{"url":%q,"sha256":%q}`, srv.URL+"/r", sha(script))
	rollout := `{"version":"3","bin":` + bin + `,"rollout":{"id":"agent-3","from":{"version":"1","bin":` + bin + `},"canary":["canary-a"],"percent":25}}`
	repo := gittest.NewRepo(t)
	src, err := gitsrc.New(gitsrc.Options{URL: repo.URL()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	app := fleetmetrics.RolloutState.GaugeVec() // the app's rollout, as reconcile exports it
	reg.MustRegister(app)
	app.WithLabelValues("web-2.0", "canary-a", fleetmetrics.StateApplied).Set(1)
	m := NewMetrics(reg, "1", "abc")
	poll := func(host, running, file string) []string {
		t.Helper()
		u, _ := updater(t, "exit", nil)
		u.Repo, u.Path, u.Download, u.Metrics, u.HostID, u.Running = src, "agent.conf", &artifacts.Fetcher{}, m, host, running
		repo.WriteFile("agent.conf", []byte(file))
		repo.Commit("agent")
		if s, err := u.Poll(t.Context()); s != nil || err != nil {
			t.Fatalf("Poll: %v, %v", s, err)
		}
		return agentRollout(t, reg)
	}
	// Buckets in rollout agent-3: web-001 is out at 25%.
	for _, c := range []struct {
		what, host, running, file string
		want                      []string
	}{
		{"a host outside the wave", "web-001", "1", rollout, []string{"agent-3 web-001 out agent.conf 25"}},
		{"the canary on the rollout's version", "canary-a", "3", rollout, []string{"agent-3 canary-a applied agent.conf 25"}},
		{"the canary whose switch failed", "canary-a", "1", rollout, []string{"agent-3 canary-a failed agent.conf 25"}},
		{"no rollout block", "canary-a", "1", `{"version":"1","bin":` + bin + `}`, nil},
	} {
		if got := poll(c.host, c.running, c.file); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.what, got, c.want)
		}
	}
}

// TestAgentRolloutBesideApps: under run --apps-dir the agent's series are
// gathered with the apps' (labelled app, in registries of their own, as
// agenthost.Apps gathers them): the agent's rollout series and an app's
// of the same name are both served, each with its own labels.
func TestAgentRolloutBesideApps(t *testing.T) {
	base := prometheus.NewRegistry()
	m := NewMetrics(base, "1", "abc")
	m.setRollout("agent.conf", &reconcile.Wave{Rollout: "agent-2", HostID: "h1", Percent: 10}, fleetmetrics.StateOut)
	app := prometheus.NewRegistry()
	g := fleetmetrics.RolloutState.GaugeVec()
	prometheus.WrapRegistererWith(prometheus.Labels{"app": "web"}, app).MustRegister(g)
	g.WithLabelValues("web-2.0", "h1", fleetmetrics.StateApplied).Set(1)
	fams, err := prometheus.Gatherers{base, app}.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var got []string
	for _, f := range fams {
		if f.GetName() != fleetmetrics.NameRolloutState {
			continue
		}
		for _, s := range f.GetMetric() {
			var l []string
			for _, p := range s.GetLabel() {
				l = append(l, p.GetName()+"="+p.GetValue())
			}
			got = append(got, strings.Join(l, ","))
		}
	}
	slices.Sort(got)
	want := []string{"agent=agent.conf,host_id=h1,rollout=agent-2,state=out", "app=web,host_id=h1,rollout=web-2.0,state=applied"}
	if !slices.Equal(got, want) {
		t.Errorf("rollout series: got %q, want %q", got, want)
	}
}
