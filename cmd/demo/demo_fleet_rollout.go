package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// fleetRelease is a release the demo rolls out to its fleet.
type fleetRelease struct {
	id      string // the rollout id
	version string
	bin     string // the example app built as this version
	from    string // what the hosts outside the wave run (built as itself)
	crash   bool   // the release dies a second after it starts
}

// desired is r's desired file: its rollout at percent, with canary, and
// halted unless nil.
func (f *fleetDemo) desired(r fleetRelease, percent float64, canary []string, halted *reconcile.Halted) (reconcile.Desired, error) {
	keys := map[string]string{"listen": f.repo.addr, "message": demoMessage(r.version)}
	if r.crash {
		keys["crash_after"] = "1s"
	}
	d, err := f.repo.release(r.version, r.bin, keys)
	if err != nil {
		return d, err
	}
	from, err := f.repo.release(r.from, r.from, map[string]string{"listen": f.repo.addr, "message": demoMessage(r.from)})
	if err != nil {
		return d, err
	}
	d.Rollout = &reconcile.Rollout{ID: r.id, From: &from, Canary: canary, Percent: &percent, Steps: fleetSteps,
		OnHalt: reconcile.OnHaltRevert, Halted: halted}
	return d, nil
}

// commitRollout commits r's rollout at percent, as a person would, on top
// of what promote pushed.
func (f *fleetDemo) commitRollout(r fleetRelease, percent float64, canary []string, halted *reconcile.Halted, msg string) (string, error) {
	return f.commitDesired(msg, func() (reconcile.Desired, error) { return f.desired(r, percent, canary, halted) })
}

// commitDesired brings the work tree up to the shared repo, writes the
// desired file build returns, commits and pushes it.
func (f *fleetDemo) commitDesired(msg string, build func() (reconcile.Desired, error)) (string, error) {
	if err := f.repo.pull(); err != nil {
		return "", err
	}
	d, err := build()
	if err == nil {
		err = f.repo.writeDesired(d)
	}
	if err != nil {
		return "", err
	}
	return f.repo.commit(msg)
}

// startLine says a rollout began, and which hosts each step takes.
func (f *fleetDemo) startLine(r fleetRelease, rev, what string) {
	f.say("")
	f.say("%-28s %-20s %s", "rollout "+r.id+" ("+r.version+")", "commit "+gitrev.Short(rev), what)
	var steps, buckets []string
	for _, s := range fleetSteps {
		steps = append(steps, fmt.Sprintf("%g%% %s", s.Percent, s.Soak))
	}
	for _, h := range f.hosts {
		if h.id != fleetCanary {
			buckets = append(buckets, fmt.Sprintf("%s %d", h.id, reconcile.Bucket(r.id, h.id)))
		}
	}
	f.say("    steps (percent, soak): %s; at 0%% only the canary, %s, runs %s", strings.Join(steps, ", "), fleetCanary, r.version)
	f.say("    buckets in %s: %s (in the wave below percent x 100)", r.id, strings.Join(buckets, ", "))
}

// status is what the agent of h serves at GET /status (what `reconciler
// status --json` says of its app directory).
func (h *fleetHost) status(ctx context.Context) (reconcile.Status, error) {
	var st reconcile.Status
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.listen+"/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", h.id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status of %s: %s", h.id, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("status of %s: %w", h.id, err)
	}
	return st, nil
}

// statuses are every host's status, in the order of f.hosts.
func (f *fleetDemo) statuses(ctx context.Context) ([]reconcile.Status, error) {
	var all []reconcile.Status
	for _, h := range f.hosts {
		st, err := h.status(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, st)
	}
	return all, nil
}

// hostsLine says which version each host has applied, from their status.
func (f *fleetDemo) hostsLine(ctx context.Context) {
	all, err := f.statuses(ctx)
	if err != nil {
		f.say("    hosts: %v", err)
		return
	}
	on := map[string][]string{}
	var versions []string
	for i, st := range all {
		v := "none"
		if st.Applied != nil {
			v = st.Applied.Version
		}
		if on[v] == nil {
			versions = append(versions, v)
		}
		on[v] = append(on[v], f.hosts[i].id)
	}
	slices.Sort(versions)
	slices.Reverse(versions)
	var parts []string
	for _, v := range versions {
		parts = append(parts, v+" on "+strings.Join(on[v], " "))
	}
	f.say("            hosts (their status): %s", strings.Join(parts, " | "))
}

// canaryBack reports whether the canary's agent has switched back from r
// by itself: it reports itself failed in r and serves r.from again; why is
// the failure it recorded.
func (f *fleetDemo) canaryBack(ctx context.Context, r fleetRelease) (ok bool, why string) {
	h := f.hosts[slices.IndexFunc(f.hosts, func(h *fleetHost) bool { return h.id == fleetCanary })]
	st, err := h.status(ctx)
	if err != nil || st.Rollout == nil || st.Rollout.Rollout != r.id || st.Rollout.State != reconcile.RolloutFailed || !servesVersion(h.app, r.from) {
		return false, ""
	}
	for _, fl := range st.Failed {
		if fl.Version == r.version {
			why = fl.Reason
		}
	}
	return true, why
}

// canaryBackLine says the canary switched back, and why.
func (f *fleetDemo) canaryBackLine(r fleetRelease, start time.Time, why string) {
	f.say("  %6s  %s is back on %s, by its own agent within --health-bake %s:", since(start), fleetCanary, r.from, demoBake)
	for _, line := range strings.Split(why, "\n") {
		f.say("            | %s", strings.TrimSpace(line))
	}
}

// afterHalt checks that every host runs r.from again, having read the
// halt, and that no host but the canary ever had r's release: the others
// never downloaded it.
func (f *fleetDemo) afterHalt(ctx context.Context, r fleetRelease, start time.Time) error {
	err := f.waitUntil(ctx, "every host on "+r.from+" after the halt", func() bool {
		all, err := f.statuses(ctx)
		if err != nil || !f.allServe(r.from) {
			return false
		}
		for _, st := range all {
			if st.Rollout == nil || st.Rollout.Rollout != r.id || st.Rollout.Halted == nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	var others []string
	for _, h := range f.hosts {
		if _, err := os.Stat(reconcile.Layout{Dir: h.dir}.BinFile(r.version)); err == nil && h.id != fleetCanary {
			others = append(others, h.id)
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%s ran %s: only the canary should have", strings.Join(others, ", "), r.version)
	}
	f.say("%-28s %-20s every host on %s after %s; 0 hosts besides the canary ran %s", "halted at the canary", "",
		r.from, time.Since(start).Round(time.Millisecond), r.version)
	f.hostsLine(ctx)
	return nil
}

// since is the time from start, for the decision lines.
func since(start time.Time) string {
	return "+" + time.Since(start).Round(100*time.Millisecond).String()
}
