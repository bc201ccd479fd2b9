package promote_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promote"
)

func series(v float64, labels ...string) fakeSeries {
	l := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return fakeSeries{labels: l, at: func(time.Time) (float64, bool) { return v, true }}
}

// TestFleet: one line per agent and app, joined by instance; the rollout
// filter; the table and the JSON.
func TestFleet(t *testing.T) {
	f := newFakeProm(t)
	const rev = "4f0c2a9e1b7d0000000000000000000000000000"
	a := []string{"instance", "10.0.0.1:9817", "job", "reconciler"}
	b := []string{"instance", "10.0.0.2:9817", "job", "reconciler"}
	c := []string{"instance", "10.0.0.3:9817", "job", "edge"}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }
	f.add(`{__name__=~"reconciler_host_info|reconciler_applied_info|reconciler_rollout_state|reconciler_last_poll_timestamp_seconds|reconciler_last_error_info"}`,
		series(1, with(a, "__name__", "reconciler_host_info", "host_id", "web-1")...),
		series(1, with(a, "__name__", "reconciler_applied_info", "version", "2.0", "revision", rev)...),
		series(1, with(a, "__name__", "reconciler_rollout_state", "rollout", "web-2.0", "host_id", "web-1", "state", "applied")...),
		// a's agent rolls itself out (run --agent-path) under the same id
		series(1, with(a, "__name__", "reconciler_rollout_state", "rollout", "web-2.0", "host_id", "web-1", "state", "pending", "agent", "agent.conf")...),
		series(float64(now.Add(-12*time.Second).Unix()), with(a, "__name__", "reconciler_last_poll_timestamp_seconds")...),
		// b runs two apps in one agent (--apps-dir): every series has app
		series(1, with(b, "__name__", "reconciler_host_info", "host_id", "web-2")...),
		series(1, with(b, "__name__", "reconciler_applied_info", "app", "web", "version", "1.9", "revision", rev)...),
		series(1, with(b, "__name__", "reconciler_rollout_state", "app", "web", "rollout", "web-2.0", "host_id", "web-2", "state", "out")...),
		series(1, with(b, "__name__", "reconciler_applied_info", "app", "api", "version", "7", "revision", rev)...),
		series(1, with(b, "__name__", "reconciler_last_error_info", "app", "api", "class", "retry", "message", "deploy repo unreachable")...),
		// c has just started: its host_info alone
		series(1, with(c, "__name__", "reconciler_host_info", "host_id", "edge-1")...),
	)
	cl, err := promote.NewClient(f.srv.URL, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := promote.Fleet(t.Context(), cl, "", now)
	if err != nil {
		t.Fatalf("Fleet: %v", err)
	}
	var buf bytes.Buffer
	if err := promote.RenderFleet(&buf, hosts, now); err != nil {
		t.Fatal(err)
	}
	want := `HOST    APP         VERSION  REVISION      ROLLOUT                                   LAST POLL  LAST ERROR
edge-1  edge        -        -             -                                         never      -
web-1   reconciler  2.0      4f0c2a9e1b7d  web-2.0 applied, web-2.0 (agent) pending  12s ago    -
web-2   api         7        4f0c2a9e1b7d  -                                         never      retry: deploy repo unreachable
web-2   web         1.9      4f0c2a9e1b7d  web-2.0 out                               never      -
`
	if got := buf.String(); got != want {
		t.Errorf("fleet table:\ngot\n%s\nwant\n%s", got, want)
	}

	hosts, err = promote.Fleet(t.Context(), cl, "web-2.0", now)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := promote.RenderFleetJSON(&buf, hosts); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("fleet JSON: %v\n%s", err, buf.String())
	}
	if len(got) != 2 || got[0]["host_id"] != "web-1" || got[1]["app"] != "web" || !strings.Contains(buf.String(), `"last_poll": "2026-03-01T11:59:48Z"`) ||
		!strings.Contains(buf.String(), `"agent": "agent.conf"`) {
		t.Errorf("fleet --rollout web-2.0 --json: got\n%s", buf.String())
	}
}
