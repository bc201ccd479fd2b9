package reconcile

import (
	"fmt"
	"strings"
	"testing"
)

// TestBucketVectors pins the bucket function to the documented formula:
// the vectors were computed apart from this code, with Python's hashlib:
// int.from_bytes(sha256(f"{id}/{host}").digest()[:8], "big") % 10000.
func TestBucketVectors(t *testing.T) {
	for _, v := range []struct {
		id, host string
		want     int
	}{
		{"web-2.0", "web-017", 2335},
		{"web-2.0", "web-001", 655},
		{"web-2.1", "web-017", 1513},
		{"api-7", "db-eu-3", 7809},
		{"", "", 6115},
		{"2.0", "host.example.com", 2168},
	} {
		if got := Bucket(v.id, v.host); got != v.want {
			t.Errorf("Bucket(%q, %q) = %d, want %d", v.id, v.host, got, v.want)
		}
	}
}

// TestBucketFair checks the share of 10,000 host ids in the wave against
// percent, and that a host in at 10% is in at 50%.
func TestBucketFair(t *testing.T) {
	const n = 10000
	for _, pct := range []float64{1, 10, 50} {
		d := rolloutDesired(pct)
		in := 0
		for i := range n {
			w := WaveOf(&d, fmt.Sprintf("host-%04d", i), false)
			if w.In {
				in++
				wider := rolloutDesired(min(pct*5, 100))
				if !WaveOf(&wider, w.HostID, false).In {
					t.Fatalf("%s in at %v%% but not at %v%%", w.HostID, pct, pct*5)
				}
			}
		}
		share := float64(in) / n * 100
		if share < pct*0.85-0.3 || share > pct*1.15+0.3 {
			t.Errorf("percent %v: %.2f%% of %d hosts in the wave", pct, share, n)
		}
	}
}

func rolloutDesired(pct float64) Desired {
	return Desired{Version: "2.0", Bin: &Artifact{Path: "bin/2.0"},
		Rollout: &Rollout{ID: "web-2.0", From: &Desired{Version: "1.9", Bin: &Artifact{Path: "bin/1.9"}}, Percent: &pct, Canary: []string{"canary-1"}}}
}

func TestWaveOf(t *testing.T) {
	d := rolloutDesired(10)
	for _, tt := range []struct {
		host, version, why string
		failed, in         bool
	}{
		{host: "canary-1", in: true, version: "2.0", why: "canary"},
		{host: "web-001", in: true, version: "2.0", why: "bucket"},   // bucket 655 < 1000
		{host: "web-017", in: false, version: "1.9", why: "bucket"},  // bucket 2335
		{host: "web-001", failed: true, version: "1.9", why: "fail"}, // failed: from
	} {
		w := WaveOf(&d, tt.host, tt.failed)
		target := d.Target(w)
		if w.In != tt.in || target.Version != tt.version || !strings.Contains(w.Why, tt.why) || target.Rollout != nil {
			t.Errorf("%s failed=%v: in=%v target %s why %q", tt.host, tt.failed, w.In, target.Version, w.Why)
		}
	}
}

// TestParseRollout: the SPEC's example parses and writes back unchanged in
// meaning; every bad value is an error naming its key.
func TestParseRollout(t *testing.T) {
	from := `"from":{"version":"1.9","bin":{"url":"https://a.example/web/1.9","sha256":"` + goodSum + `"},"cfg":{"path":"web/cfg-1.9.json"}}`
	top := `"version":"2.0","bin":{"url":"https://a.example/web/2.0","sha256":"` + goodSum + `"},"cfg":{"path":"web/cfg-2.0.json"}`
	good := `{` + top + `,"rollout":{"id":"web-2.0",` + from + `,"canary":["web-017"],"percent":10,
		"steps":[{"percent":0,"soak":"30m"},{"percent":10,"soak":"1h"},{"percent":50,"soak":"1h"},{"percent":100,"soak":"30m"}],
		"max_failed":0,"checks":[{"query":"sum(rate(x[5m]))","max":0.01}],"on_halt":"revert","halted":null}}`
	d, err := ParseDesired("web/current.conf", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if d.WaveID() != "web-2.0" || d.Rollout.PercentOf() != 1000 || d.Rollout.Steps[1].SoakFor().String() != "1h0m0s" || d.Rollout.From.Version != "1.9" {
		t.Errorf("parsed %+v", d.Rollout)
	}
	out, err := d.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseDesired("again", out)
	if err != nil {
		t.Fatalf("written back: %v\n%s", err, out)
	}
	if string(mustIndent(t, again)) != string(out) || !strings.Contains(string(out), `"soak": "30m"`) {
		t.Errorf("not stable:\n%s", out)
	}

	with := func(rollout string) string { return `{` + top + `,"rollout":{` + rollout + `}}` }
	for _, tt := range []struct{ name, in, want string }{
		{"no from", with(`"percent":10`), `"rollout.from" is required`},
		{"no percent", with(from), `"rollout.percent" is required`},
		{"percent 101", with(from + `,"percent":101`), `"rollout.percent": 101`},
		{"percent negative", with(from + `,"percent":-1`), `"rollout.percent"`},
		{"percent three decimals", with(from + `,"percent":0.125`), `"rollout.percent"`},
		{"percent a string", with(from + `,"percent":"10"`), `"rollout.percent"`},
		{"unknown key", with(from + `,"percent":10,"precent":5`), `unknown key "rollout.precent"`},
		{"unknown key in a step", with(from + `,"percent":10,"steps":[{"percent":10,"soak":"1h","wait":"2h"}]`), `unknown key "rollout.steps.wait"`},
		{"bad soak", with(from + `,"percent":10,"steps":[{"percent":10,"soak":"an hour"}]`), `"rollout.steps[0].soak"`},
		{"steps narrow", with(from + `,"percent":10,"steps":[{"percent":50},{"percent":10}]`), `"rollout.steps[1].percent"`},
		{"bad on_halt", with(from + `,"percent":10,"on_halt":"rollback"`), `"rollout.on_halt"`},
		{"negative max_failed", with(from + `,"percent":10,"max_failed":-1`), `"rollout.max_failed"`},
		{"check without bounds", with(from + `,"percent":10,"checks":[{"query":"up"}]`), `"rollout.checks[0]"`},
		{"check without query", with(from + `,"percent":10,"checks":[{"max":1}]`), `"rollout.checks[0].query"`},
		{"check min above max", with(from + `,"percent":10,"checks":[{"query":"up","min":2,"max":1}]`), `"rollout.checks[0]"`},
		{"canary twice", with(from + `,"percent":10,"canary":["a","a"]`), `"rollout.canary"`},
		{"canary empty", with(from + `,"percent":10,"canary":[""]`), `"rollout.canary[0]"`},
		{"bad id", with(`"id":"../x",` + from + `,"percent":10`), `"rollout.id"`},
		{"from is the same version", with(`"from":{"version":"2.0","bin":{"path":"b"}},"percent":10`), `"rollout.from.version"`},
		{"from without bin", with(`"from":{"version":"1.9"},"percent":10`), `rollout.from: key "bin" is required`},
		{"nested rollout", with(`"from":{"version":"1.9","bin":{"path":"b"},"rollout":{"from":{"version":"1","bin":{"path":"c"}},"percent":1}},"percent":10`), `"rollout.from.rollout"`},
		{"halted without reason", with(from + `,"percent":10,"halted":{"time":"2026-12-01T10:00:00Z"}`), `"rollout.halted.reason"`},
	} {
		_, err := ParseDesired("web/current.conf", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "web/current.conf") {
			t.Errorf("%s: got %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}

func mustIndent(t *testing.T, d Desired) []byte {
	t.Helper()
	b, err := d.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
