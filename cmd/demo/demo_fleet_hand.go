package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/internal/promote"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Without Prometheus, reconciler promote cannot decide (it asks
// Prometheus's API, and nothing else stands in for it), so the demo takes
// the steps a person would: it watches the agents' /status, and commits.
// The agents, the buckets, the switches and the canary's own rollback are
// the same; the lines say "by hand".

// rollByHand starts r at its canary and, step by step, waits until every
// host has read the step's percent and every host in the wave runs r, for
// the step's whole soak, then commits the next percent, and at last the
// plain desired file.
func (f *fleetDemo) rollByHand(ctx context.Context, r fleetRelease) error {
	start := time.Now()
	canary := []string{fleetCanary}
	rev, err := f.commitRollout(r, 0, canary, nil, "web "+r.version+": rollout "+r.id+", the canary first")
	if err != nil {
		return err
	}
	f.startLine(r, rev, "by a person, who takes each step by hand:")
	for i, step := range fleetSteps {
		n, err := f.soakWave(ctx, r, step)
		if err != nil {
			return err
		}
		// The line promote would print for this move: its own words.
		dec := promote.Decision{Action: promote.Advance, Rollout: r.id, Version: r.version, Percent: step.Percent,
			To: 100, Why: fmt.Sprintf("%d of %d hosts applied, soaked %s", n, n, step.Soak)}
		if i+1 < len(fleetSteps) {
			dec.To = fleetSteps[i+1].Percent
			rev, err = f.commitRollout(r, dec.To, canary, nil, dec.Subject()+" by hand")
		} else {
			dec.Action = promote.Finish
			rev, err = f.commitDesired(dec.Subject()+" by hand", func() (reconcile.Desired, error) {
				d, err := f.desired(r, 100, canary, nil)
				d.Rollout = nil
				return d, err
			})
		}
		if err != nil {
			return err
		}
		f.say("  %6s  by hand: %s [pushed %s]", since(start), dec.Subject(), gitrev.Short(rev))
		f.hostsLine(ctx)
	}
	if err := f.waitUntil(ctx, "every host to serve "+r.version, func() bool { return f.allServe(r.version) }); err != nil {
		return err
	}
	f.say("%-28s %-20s every host serves %s after %s", "rollout "+r.id+" finished", "", r.version, time.Since(start).Round(time.Millisecond))
	return nil
}

// soakWave waits until every host reports r at step's percent and every
// host in the wave has applied it, then watches that it stays so for the
// step's soak; it returns how many hosts are in the wave. A failed host
// fails the demo: 2.0 is a good release.
func (f *fleetDemo) soakWave(ctx context.Context, r fleetRelease, step reconcile.RolloutStep) (int, error) {
	var bad error
	ready := func() bool {
		_, ok, err := f.wave(ctx, r, step.Percent)
		bad = err
		return ok || err != nil
	}
	if err := f.waitUntil(ctx, fmt.Sprintf("every host in the wave at %g%% to run %s", step.Percent, r.version), ready); err != nil {
		return 0, err
	}
	if bad != nil {
		return 0, bad
	}
	for end := time.Now().Add(step.SoakFor()); ; {
		in, ok, err := f.wave(ctx, r, step.Percent)
		switch {
		case err != nil:
			return 0, err
		case !ok:
			return 0, fmt.Errorf("the wave at %g%% broke during its soak", step.Percent)
		case time.Now().After(end):
			return in, nil
		}
		if err := f.pause(ctx, 250*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// wave reads every host's status: how many are in r's wave at percent,
// and whether all of those have applied r and every host has read the
// percent; an error when a host failed.
func (f *fleetDemo) wave(ctx context.Context, r fleetRelease, percent float64) (in int, ok bool, err error) {
	all, err := f.statuses(ctx)
	if err != nil {
		return 0, false, err
	}
	ok = true
	for i, st := range all {
		w := st.Rollout
		if w == nil || w.Rollout != r.id || w.Percent != percent {
			ok = false
			continue
		}
		switch {
		case w.State == reconcile.RolloutFailed:
			return 0, false, fmt.Errorf("%s failed to switch to %s", f.hosts[i].id, r.version)
		case w.In:
			in++
			ok = ok && w.State == reconcile.RolloutApplied
		}
	}
	return in, ok, nil
}

// haltByHand starts the bad release r at its canary, waits for the
// canary's agent to switch back by itself, and halts the rollout as
// promote would (halted, percent 0, no canary: every host on from).
func (f *fleetDemo) haltByHand(ctx context.Context, r fleetRelease) error {
	start := time.Now()
	rev, err := f.commitRollout(r, 0, []string{fleetCanary}, nil, "web "+r.version+": rollout "+r.id+", the canary first")
	if err != nil {
		return err
	}
	f.startLine(r, rev, "passes its health check and dies 1s later; by hand:")
	var why string
	if err := f.waitUntil(ctx, fleetCanary+" back on "+r.from, func() bool {
		var ok bool
		ok, why = f.canaryBack(ctx, r)
		return ok
	}); err != nil {
		return err
	}
	f.canaryBackLine(r, start, why)
	line := promote.Decision{Action: promote.Halt, Rollout: r.id, Version: r.version, Why: "1 host failed: " + fleetCanary,
		OnHalt: reconcile.OnHaltRevert}.Subject()
	halted := &reconcile.Halted{Reason: "by hand: " + fleetCanary + " failed", Time: time.Now().UTC().Truncate(time.Second)}
	if rev, err = f.commitRollout(r, 0, nil, halted, line+" by hand"); err != nil {
		return err
	}
	f.say("  %6s  by hand: %s [pushed %s]", since(start), line, gitrev.Short(rev))
	return f.afterHalt(ctx, r, start)
}

// fleetFromStatus prints the table `reconciler fleet` prints, from the
// agents' /status instead of Prometheus.
func (f *fleetDemo) fleetFromStatus(ctx context.Context) error {
	all, err := f.statuses(ctx)
	if err != nil {
		return err
	}
	var hosts []promote.Host
	for i, st := range all {
		h := promote.Host{HostID: f.hosts[i].id, App: "web", Instance: f.hosts[i].listen}
		if st.Applied != nil {
			h.Version, h.Revision = st.Applied.Version, st.Applied.Revision
		}
		if st.Rollout != nil {
			h.Rollouts = []promote.HostRollout{{ID: st.Rollout.Rollout, State: st.Rollout.State}}
		}
		if st.LastPoll != nil {
			h.LastPoll = &st.LastPoll.Time
		}
		if st.LastError != nil {
			h.ErrorClass, h.Error = string(st.LastError.Class), st.LastError.Message
		}
		hosts = append(hosts, h)
	}
	var b bytes.Buffer
	if err := promote.RenderFleet(&b, hosts, time.Now()); err != nil {
		return err
	}
	f.say("")
	f.say("the fleet, from each agent's /status (reconciler fleet shows this from Prometheus)")
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		f.say("    %s", line)
	}
	return nil
}
