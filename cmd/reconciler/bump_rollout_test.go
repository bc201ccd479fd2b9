package main

import (
	"crypto/sha256"
	be "encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// TestBumpRollout: bump --rollout starts a staged rollout from the release
// being replaced, with the canary, steps and checks of the file's last
// rollout block, at its first step. Real agents (sync) of three host ids
// place themselves by SPEC's bucket rule, computed here on its own; then
// promote, asking a real Prometheus about the fleet, moves it on.
func TestBumpRollout(t *testing.T) {
	f := newFleetFixture(t, "web-1", "web-2", "web-3")
	for _, a := range f.agents {
		a.SetGauge("test_error_ratio", 0.001)
	}
	art := newArtServer(t)
	rel := map[string]string{}
	for _, v := range []string{"1.8", "1.9", "2.0"} {
		url, sum := art.put("/web/"+v, binary(v))
		rel[v] = fmt.Sprintf(`{"version": %q, "bin": {"url": %q, "sha256": %q}}`, v, url, sum)
	}
	steps := `[{"percent": 74.05, "soak": "1s"}, {"percent": 100, "soak": "1s"}]`
	checks := `[{"query": "max(test_error_ratio)", "max": 0.01}]`
	old := strings.TrimSuffix(rel["1.9"], "}") + `, "rollout": {"id": "web-1.9", "from": ` + rel["1.8"] +
		`, "canary": ["web-1"], "percent": 100, "steps": ` + steps + `, "checks": ` + checks + `, "halted": null}}`
	f.commit("rollout web-1.9", map[string]string{rolloutPath: old})
	f.commit("rollout web-1.9: finished", map[string]string{rolloutPath: rel["1.9"] + "\n"})

	url, sum := art.put("/web/2.0", binary("2.0"))
	out, errOut, code := runCLI(t, "bump", "--repo", f.url, "--path", rolloutPath, "--version", "2.0",
		"--bin-url", url, "--bin-sha256", sum, "--rollout", "--sign-key", f.signKey)
	if code != 0 {
		t.Fatalf("bump --rollout: exit %d: %s%s", code, out, errOut)
	}
	d := f.desired()
	r := d.Rollout
	from, _ := reconcile.ParseDesired("from", []byte(rel["1.9"]))
	switch {
	case r == nil:
		t.Fatalf("no rollout block: %+v", d)
	case d.WaveID() != "web-2.0" || *r.Percent != 74.05 || !reflect.DeepEqual(r.Canary, []string{"web-1"}):
		t.Errorf("rollout: id %s, percent %v, canary %v; want web-2.0 at the first step 74.05, canary web-1", d.WaveID(), *r.Percent, r.Canary)
	case !reflect.DeepEqual(*r.From, from):
		t.Errorf("from: %+v, want the release replaced, 1.9", r.From)
	case len(r.Steps) != 2 || len(r.Checks) != 1 || r.Checks[0].Query != "max(test_error_ratio)":
		t.Errorf("steps %+v, checks %+v: want the last rollout block's", r.Steps, r.Checks)
	}
	if got := f.git("log", "-1", "--format=%s", "main"); got != "web: 1.9 -> 2.0 (rollout web-2.0 at 74.05%)" {
		t.Errorf("commit: %q", got)
	}

	// web-1 is the canary; web-3's bucket (7402) is below 7405, web-2's (7407) is not.
	for _, host := range []string{"web-1", "web-2", "web-3"} {
		sum := sha256.Sum256([]byte("web-2.0/" + host))
		bucket := be.BigEndian.Uint64(sum[:8]) % 10000
		want := "1.9"
		if host == "web-1" || bucket < 7405 {
			want = "2.0"
		}
		dir := t.TempDir()
		mustSync(t, f.url, dir, "--host-id", host)
		if got := readConf(t, dir)["version"]; got != want {
			t.Errorf("agent %s (bucket %d): runs %s, want %s", host, bucket, got, want)
		}
	}

	f.poll("web-2.0")
	f.settle("web-2.0")
	f.promoteUntil("advance: rollout web-2.0: 74.05% -> 100% (2 of 2 hosts applied, 1 check passes, soaked 1s) [pushed ",
		"soaking", "not yet applied", "missing data", "have not read")
	if d := f.desired(); *d.Rollout.Percent != 100 {
		t.Errorf("after promote: percent %v, want 100", *d.Rollout.Percent)
	}
}
