package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// rolloutDesired is a desired file rolling v2 out over v1 (both published
// with d.release's artifacts), at percent with the canary hosts given.
func (d *deployRepo) rolloutDesired(v1, v2 string, percent float64, canary ...string) string {
	art := func(v string) string {
		url, digest := d.art.put("/web-"+v, binary(v))
		d.WriteFile("web/cfg-"+v+".json", []byte(fmt.Sprintf("{\"version\": %q}\n", v)))
		return fmt.Sprintf(`"version": %q, "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "web/cfg-%s.json"}`, v, url, digest, v)
	}
	c, _ := json.Marshal(canary)
	if canary == nil {
		c = []byte("[]")
	}
	return fmt.Sprintf(`{%s, "rollout": {"id": "web-%s", "from": {%s}, "canary": %s, "percent": %v}}`, art(v2), v2, art(v1), c, percent)
}

// TestRolloutAcrossHosts: three hosts with their own --host-id follow one
// deploy repo; each takes what its place in the wave says, widening brings
// the next ones in, and status and diff say why.
func TestRolloutAcrossHosts(t *testing.T) {
	d := newDeployRepo(t)
	root := t.TempDir()
	// Buckets in rollout web-2.0: web-001 655, web-017 2335 (reconcile's
	// TestBucketVectors); canary-a is named.
	hosts := []string{"canary-a", "web-001", "web-017"}
	syncAll := func(want map[string]string) {
		t.Helper()
		for _, h := range hosts {
			dir := filepath.Join(root, h)
			_, stderr, code := runCLI(t, syncArgs(d.URL(), dir, "--host-id", h)...)
			if code != 0 {
				t.Fatalf("sync %s: exit %d\n%s", h, code, stderr)
			}
			if got := appliedVersion(t, dir); got != want[h] {
				t.Errorf("%s runs %q, want %q", h, got, want[h])
			}
		}
	}
	d.commitDesired(d.rolloutDesired("1.9", "2.0", 10, "canary-a"))
	syncAll(map[string]string{"canary-a": "2.0", "web-001": "2.0", "web-017": "1.9"})

	stdout, _, code := runCLI(t, "status", "--dir", filepath.Join(root, "web-017"), "--json")
	var st reconcile.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || code > 1 {
		t.Fatalf("status: %v (exit %d)\n%s", err, code, stdout)
	}
	if r := st.Rollout; r == nil || r.Rollout != "web-2.0" || r.State != reconcile.RolloutOut || r.Bucket != 2335 || r.In || r.HostID != "web-017" {
		t.Errorf("status of web-017: %+v", st.Rollout)
	}
	stdout, _, _ = runCLI(t, "status", "--dir", filepath.Join(root, "web-001"))
	if !strings.Contains(stdout, "web-2.0: 1.9 -> 2.0 at 10%; host web-001, bucket 655: applied (bucket 655 < 1000 (10%))") {
		t.Errorf("status of web-001 does not say its place in the wave:\n%s", stdout)
	}

	// Widen to 50%: web-017's diff says it comes in, then it does.
	d.commitDesired(d.rolloutDesired("1.9", "2.0", 50, "canary-a"))
	stdout, stderr, code := runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", filepath.Join(root, "web-017"), "--host-id", "web-017")
	if code != 1 || !strings.Contains(stdout, "rollout   web-2.0 (1.9 -> 2.0 at 50%): host web-017, bucket 2335 < 5000 (50%); in the wave: runs 2.0") {
		t.Errorf("diff exit %d:\n%s%s", code, stdout, stderr)
	}
	syncAll(map[string]string{"canary-a": "2.0", "web-001": "2.0", "web-017": "2.0"})

	// Halted with on_halt revert: percent 0, no canary: all back on from.
	d.commitDesired(d.rolloutDesired("1.9", "2.0", 0))
	syncAll(map[string]string{"canary-a": "1.9", "web-001": "1.9", "web-017": "1.9"})
}

func appliedVersion(t *testing.T, dir string) string {
	t.Helper()
	l, err := reconcile.NewLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.ReadLocalConf()
	if err != nil {
		return ""
	}
	return c.Version
}
