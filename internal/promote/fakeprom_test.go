package promote_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProm answers the Prometheus HTTP API's query_range (and query) as
// Prometheus does, in its JSON, from series given as functions of time: a
// test states what each agent and each check said when, and the client
// under test asks as it would ask a real Prometheus.
type fakeProm struct {
	srv *httptest.Server

	mu      sync.Mutex
	series  map[string][]fakeSeries // by query; agentsQuery for the agents' series
	refuse  map[string]string       // query -> Prometheus's error (HTTP 400, bad_data)
	status  int                     // answer every request with this HTTP status and no JSON
	queries []string
}

// agentsQuery stands for the promoter's query of the agents' series.
const agentsQuery = "agents"

type fakeSeries struct {
	labels map[string]string
	// at returns the value at t, and false when the series has no sample
	// then.
	at func(t time.Time) (float64, bool)
}

func newFakeProm(t *testing.T) *fakeProm {
	f := &fakeProm{series: map[string][]fakeSeries{}, refuse: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProm) add(query string, s ...fakeSeries) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.series[query] = append(f.series[query], s...)
}

func (f *fakeProm) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	key := q
	if strings.Contains(q, `",rollout=`) { // the agents' series of one rollout; the fleet query has no rollout matcher
		key = agentsQuery
	}
	f.mu.Lock()
	f.queries = append(f.queries, q)
	status, refusal, series := f.status, f.refuse[key], f.series[key]
	f.mu.Unlock()
	switch {
	case status != 0:
		http.Error(w, "<html>bad gateway</html>", status)
		return
	case refusal != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": refusal})
		return
	}
	var times []float64
	if r.URL.Path == "/api/v1/query_range" {
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		for ts := start; ts <= end+1e-6; ts += step {
			times = append(times, math.Round(ts*1000)/1000)
		}
	} else {
		ts, _ := strconv.ParseFloat(r.Form.Get("time"), 64)
		times = []float64{ts}
	}
	var result []map[string]any
	for _, s := range series {
		var values [][]any
		for _, ts := range times {
			if v, ok := s.at(time.UnixMilli(int64(ts * 1000))); ok {
				values = append(values, []any{ts, strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
		if len(values) > 0 {
			result = append(result, map[string]any{"metric": s.labels, "values": values})
		}
	}
	if result == nil {
		result = []map[string]any{}
	}
	data := map[string]any{"resultType": "matrix", "result": result}
	if r.URL.Path == "/api/v1/query" {
		var vec []map[string]any
		for _, s := range result {
			v := s["values"].([][]any)
			vec = append(vec, map[string]any{"metric": s["metric"], "value": v[0]})
		}
		if vec == nil {
			vec = []map[string]any{}
		}
		data = map[string]any{"resultType": "vector", "result": vec}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}

// agent is what one agent reports: its state (and the percent it read)
// from a time on, and before it (zero from: always).
type agent struct {
	id            string
	state         string
	percent       float64
	from          time.Time
	before        string // state before from; "" reports nothing then
	beforePercent float64
	extraState    string // a second state reported at once (a broken agent)
	agentFile     string // the agent's own rollout of this file (run --agent-path), not an app's
}

// series returns the agent's state and percent series, with the labels
// Prometheus gives them (instance and job added by the scrape).
func (a agent) series(rollout string) []fakeSeries {
	labels := func(name string, extra ...string) map[string]string {
		l := map[string]string{"__name__": name, "rollout": rollout, "host_id": a.id, "instance": a.id + ":9817", "job": "reconciler"}
		if a.agentFile != "" {
			l["agent"] = a.agentFile
		}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	now := func(t time.Time) bool { return a.from.IsZero() || !t.Before(a.from) }
	var out []fakeSeries
	for _, st := range []string{"out", "pending", "applied", "failed"} {
		out = append(out, fakeSeries{labels: labels("reconciler_rollout_state", "state", st), at: func(t time.Time) (float64, bool) {
			switch {
			case now(t) && (st == a.state || st == a.extraState):
				return 1, true
			case !now(t) && st == a.before:
				return 1, true
			}
			return 0, false
		}})
	}
	out = append(out, fakeSeries{labels: labels("reconciler_rollout_percent"), at: func(t time.Time) (float64, bool) {
		if now(t) {
			return a.percent, true
		}
		return a.beforePercent, a.before != ""
	}})
	return out
}

// constant is a check's single series answering v at all times.
func constant(v float64) fakeSeries {
	return fakeSeries{labels: map[string]string{}, at: func(time.Time) (float64, bool) { return v, true }}
}

// except answers v, but nothing inside [from, to).
func except(v float64, from, to time.Time) fakeSeries {
	return fakeSeries{labels: map[string]string{}, at: func(t time.Time) (float64, bool) {
		return v, t.Before(from) || !t.Before(to)
	}}
}
