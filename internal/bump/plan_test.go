package bump

import (
	"errors"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/reconcile"
)

const (
	sum1 = "1111111111111111111111111111111111111111111111111111111111111111"
	sum2 = "2222222222222222222222222222222222222222222222222222222222222222"
)

// stateOf is what a read of the branch finds with file at the head and
// older versions of it below.
func stateOf(t *testing.T, file string, older ...string) state {
	t.Helper()
	st := state{head: strings.Repeat("a", 40), data: []byte(file), repoFiles: map[string][]byte{}}
	for i, f := range append([]string{file}, older...) {
		d, err := reconcile.ParseDesired("web/current.conf", []byte(f))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			st.cur = d
		}
		st.remember(gitsrc.Rev{Hash: strings.Repeat("b", 40), Data: []byte(f)}, "web/current.conf")
	}
	return st
}

func urlTarget(version, url, sum string) target {
	return target{version: version, bin: resolved{art: &reconcile.Artifact{URL: url, SHA256: sum}}}
}

var req = Request{Path: "web/current.conf", Version: "2.0"}

// TestPlanEdits: the new file differs from the old in the changed values
// alone; a form change replaces the artifact; a cfg is added; a rollout
// block is dropped by a plain bump.
func TestPlanEdits(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		t          target
		want       string
	}{
		{"url and digest", "{\"version\":\"1.0\",\n \"bin\": {\"url\": \"https://a/1\", \"sha256\": \"" + sum1 + "\"}}",
			urlTarget("2.0", "https://a/2", sum2),
			"{\"version\":\"2.0\",\n \"bin\": {\"url\": \"https://a/2\", \"sha256\": \"" + sum2 + "\"}}"},
		{"digest only", `{"version":"1.0","bin":{"url":"https://a/x","sha256":"` + sum1 + `"}}`,
			urlTarget("2.0", "https://a/x", sum2),
			`{"version":"2.0","bin":{"url":"https://a/x","sha256":"` + sum2 + `"}}`},
		{"path to url", `{"version":"1.0","bin":{"path":"web/bin-1"}}`,
			urlTarget("2.0", "https://a/2", sum2),
			`{"version":"2.0","bin":{"url":"https://a/2","sha256":"` + sum2 + `"}}`},
		{"cfg added", `{"version": "1.0", "bin": {"path": "web/bin-1"}}`,
			target{version: "2.0", bin: resolved{art: &reconcile.Artifact{Path: "web/bin-2"}}, cfg: resolved{art: &reconcile.Artifact{Path: "web/cfg-2"}}},
			`{"version": "2.0", "bin": {"path": "web/bin-2"}, "cfg": {"path":"web/cfg-2"}}`},
		{"rollout dropped", `{"version": "1.0", "bin": {"path": "web/bin-1"}, "rollout": {"from": {"version": "0.9", "bin": {"path": "web/bin-0"}}, "percent": 10, "halted": null}}`,
			target{version: "2.0", bin: resolved{art: &reconcile.Artifact{Path: "web/bin-2"}}},
			`{"version": "2.0", "bin": {"path": "web/bin-2"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := makePlan(stateOf(t, tc.file), req, tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if string(p.data) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", p.data, tc.want)
			}
			if p.message != "web: 1.0 -> 2.0" {
				t.Errorf("message %q", p.message)
			}
		})
	}
}

// TestPlanRefuses: immutability at the head, in the history, in a
// rollout's from, and of a repo file; no change is no commit.
func TestPlanRefuses(t *testing.T) {
	head := `{"version":"1.5","bin":{"url":"https://a/1.5","sha256":"` + sum1 + `"}}`
	hist := `{"version":"2.0","bin":{"url":"https://a/2","sha256":"` + sum1 + `"},"rollout":{"from":{"version":"0.9","bin":{"path":"b"}},"percent":0,"halted":null}}`
	st := stateOf(t, head, hist)
	for _, tc := range []struct {
		name string
		t    target
	}{
		{"history", urlTarget("2.0", "https://a/2", sum2)},
		{"head", urlTarget("1.5", "https://a/1.5", sum2)},
		{"rollout.from", urlTarget("0.9", "https://a/0.9", sum2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := makePlan(st, Request{Path: req.Path, Version: tc.t.version}, tc.t); !errors.Is(err, ErrImmutable) {
				t.Errorf("got %v, want ErrImmutable", err)
			}
		})
	}
	// the same version with the same digest at another URL (a mirror) is no change of bytes
	if p, err := makePlan(st, req, urlTarget("2.0", "https://mirror/2", sum1)); err != nil || p.noChange {
		t.Errorf("2.0 again, same digest, new URL: got %+v, %v; want a commit", p.noChange, err)
	}
	if p, err := makePlan(st, req, urlTarget("1.5", "https://a/1.5", sum1)); err != nil || !p.noChange {
		t.Errorf("the head's own release: got noChange %v, %v; want no change", p.noChange, err)
	}
	st.repoFiles["web/bin-2"] = []byte("old bytes")
	rt := target{version: "2.1", bin: resolved{art: &reconcile.Artifact{Path: "web/bin-2"}, file: &gitsrc.File{Path: "web/bin-2", Data: []byte("new bytes"), Create: true}}}
	if _, err := makePlan(st, Request{Path: req.Path, Version: "2.1"}, rt); !errors.Is(err, ErrImmutable) {
		t.Errorf("a repo file with other bytes: got %v, want ErrImmutable", err)
	}
}

// TestPlanRollout: --rollout takes from the replaced release, the last
// rollout block's canary, steps and checks, starts at the first step; the
// defaults without one.
func TestPlanRollout(t *testing.T) {
	head := `{"version":"1.5","bin":{"url":"https://a/1.5","sha256":"` + sum1 + `"}}`
	old := `{"version":"1.4","bin":{"path":"x"},"rollout":{"id":"r","from":{"version":"1.3","bin":{"path":"y"}},"canary":["h1"],"percent":100,
	  "steps":[{"percent":5,"soak":"1m"},{"percent":100}],"checks":[{"query":"up","min":1}],"max_failed":2,"on_halt":"freeze","halted":null}}`
	r := Request{Path: req.Path, Version: "2.0", Rollout: true}
	p, err := makePlan(stateOf(t, head, old), r, urlTarget("2.0", "https://a/2", sum2))
	if err != nil {
		t.Fatal(err)
	}
	ro := p.next.Rollout
	if ro.ID != "web-2.0" || ro.From.Version != "1.5" || ro.From.Bin.SHA256 != sum1 || *ro.Percent != 5 || ro.Canary[0] != "h1" ||
		len(ro.Steps) != 2 || ro.Checks[0].Query != "up" || ro.MaxFailed != 2 || ro.OnHalt != "freeze" || ro.Halted != nil {
		t.Errorf("rollout: %+v", ro)
	}
	if p.message != "web: 1.5 -> 2.0 (rollout web-2.0 at 5%)" {
		t.Errorf("message %q", p.message)
	}
	r.RolloutID = "web-two"
	p, err = makePlan(stateOf(t, head), r, urlTarget("2.0", "https://a/2", sum2))
	if err != nil {
		t.Fatal(err)
	}
	if ro := p.next.Rollout; ro.ID != "web-two" || *ro.Percent != 10 || len(ro.Steps) != 3 || ro.Canary != nil || ro.Checks != nil {
		t.Errorf("rollout with defaults: %+v", ro)
	}
}

// TestCheckRace: after a rejected push, a change of other values is built
// on, this very bump is no conflict, anything else is.
func TestCheckRace(t *testing.T) {
	first := stateOf(t, `{"version":"1.0","bin":{"url":"https://a/1","sha256":"`+sum1+`"}}`).cur
	want := urlTarget("2.0", "https://a/2", sum2)
	for _, tc := range []struct {
		name, now string
		conflict  bool
	}{
		{"unchanged", `{"version": "1.0", "bin": {"url":"https://a/1","sha256":"` + sum1 + `"}}`, false},
		{"made by another run", `{"version":"2.0","bin":{"url":"https://a/2","sha256":"` + sum2 + `"}}`, false},
		{"another version", `{"version":"2.1","bin":{"url":"https://a/2.1","sha256":"` + sum2 + `"}}`, true},
		{"a rollout started", `{"version":"1.0","bin":{"url":"https://a/1","sha256":"` + sum1 + `"},"rollout":{"from":{"version":"0.9","bin":{"path":"b"}},"percent":0,"halted":null}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRace(first, stateOf(t, tc.now), req, want)
			if got := errors.Is(err, ErrConflict); got != tc.conflict {
				t.Errorf("got %v, want conflict %v", err, tc.conflict)
			}
		})
	}
}

func TestApp(t *testing.T) {
	for in, want := range map[string]string{"web/current.conf": "web", "hosts/web-01/api.conf": "api", "current.conf": "current", "a/b/current.json": "b"} {
		if got := App(in); got != want {
			t.Errorf("App(%q): got %q, want %q", in, got, want)
		}
	}
}

// TestPlanOCIEdits: an oci artifact replaced by another of the same form
// has only its changed values edited, in place; a url replaced by an oci
// artifact is written anew; the same oci pin again is no change.
func TestPlanOCIEdits(t *testing.T) {
	ociTarget := func(version, ref, file, sum string) target {
		return target{version: version, bin: resolved{art: &reconcile.Artifact{OCI: ref, File: file, SHA256: sum}}}
	}
	d1, d2 := "r.example.com/team/web@sha256:"+strings.Repeat("c", 64), "r.example.com/team/web@sha256:"+strings.Repeat("d", 64)
	head := "{\n\t\"bin\": {\"sha256\": \"" + sum1 + "\", \"file\": \"web\", \"oci\": \"" + d1 + "\"},\n\t\"version\": \"1.0\"\n}\n"
	p, err := makePlan(stateOf(t, head), req, ociTarget("2.0", d2, "web", sum2))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(sum1, sum2, d1, d2, `"1.0"`, `"2.0"`).Replace(head)
	if string(p.data) != want {
		t.Errorf("got\n%s\nwant\n%s", p.data, want)
	}
	if p, err := makePlan(stateOf(t, head), Request{Path: req.Path, Version: "1.0"}, ociTarget("1.0", d1, "web", sum1)); err != nil || !p.noChange {
		t.Errorf("the same pin again: noChange %v, %v; want no change", p.noChange, err)
	}
	urlHead := `{"version": "1.0", "bin": {"url": "https://a/1", "sha256": "` + sum1 + `"}}`
	p, err = makePlan(stateOf(t, urlHead), req, ociTarget("2.0", d2, "web", sum2))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := reconcile.ParseDesired(req.Path, p.data); err != nil || d.Bin.URL != "" || d.Bin.OCI != d2 || d.Bin.File != "web" {
		t.Errorf("url to oci: %s (%v)", p.data, err)
	}
}
