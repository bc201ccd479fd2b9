package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// Action is what a decision does to the rollout.
type Action int

const (
	Hold    Action = iota // commit nothing
	Advance               // commit the next step's percent
	Halt                  // commit halted (and, on_halt revert, percent 0)
	Finish                // commit the plain desired file
)

func (a Action) String() string {
	return [...]string{"hold", "advance", "halt", "finish"}[a]
}

// Input is what a decision is made from, besides Prometheus.
type Input struct {
	// Desired is the file at the head of the branch; it has a rollout.
	Desired reconcile.Desired
	// Since is the time of the commit that made the head's wave (Since
	// finds it in the history): no soak counts from before it.
	Since time.Time
	// Now is the moment of the decision.
	Now time.Time
	// Path is the file's path in the repo. The agent's own file (run
	// --agent-path) is told from an app's by it: the agent's rollout
	// series carry it as fleetmetrics.LabelAgent (see ofFile).
	Path string
}

// Decision is the outcome of one look at a rollout, with its evidence.
type Decision struct {
	Action  Action
	Rollout string  // the rollout id
	Version string  // the version being rolled out
	Percent float64 // at the head
	// To is the percent committed: the next step's for Advance, 0 for a
	// Halt with on_halt revert, 100 for Finish; Percent otherwise.
	To float64
	// Why is the evidence in one phrase, e.g. "12 of 12 hosts applied,
	// soaked 1h".
	Why    string
	Hosts  Hosts
	Checks []CheckResult
	// Soak is the current step's; Healthy how long the wave has been
	// healthy without a break (at most the window's length).
	Soak, Healthy time.Duration
	// OnHalt is the policy the halt applied ("revert" or "freeze").
	OnHalt string
	// Next is the desired file to commit; nil for Hold.
	Next *reconcile.Desired
}

// Decide makes the decision for the rollout of in.Desired: it is a
// function of its input and of what Prometheus answers, and keeps nothing.
//
//   - A halted rollout holds: a person decides.
//   - Halt when more than max_failed hosts report failed, or a check's
//     number is outside its bounds, now.
//   - Hold on missing data (no agent reports the rollout, a check without
//     one number), on hosts that have not read the current percent, on
//     hosts in the wave not yet applied, and until all that has been good
//     at every point of the current step's soak, counted from when the
//     wave became healthy and never from before the commit that made it.
//   - Otherwise advance to the next step, or finish at 100%.
//
// An error (Prometheus unreachable, ErrUnanswered) decides nothing.
func Decide(ctx context.Context, p Prometheus, in Input) (Decision, error) {
	d := in.Desired
	r := d.Rollout
	if r == nil || r.Percent == nil {
		return Decision{}, errors.New("decide: the desired file has no rollout block")
	}
	dec := Decision{Rollout: d.WaveID(), Version: d.Version, Percent: *r.Percent, To: *r.Percent, OnHalt: r.OnHaltPolicy()}
	if r.Halted != nil {
		dec.Why = fmt.Sprintf("halted %s: %s; a person decides (set \"halted\" to null to resume, or revert)",
			r.Halted.Time.UTC().Format(time.RFC3339), r.Halted.Reason)
		return dec, nil
	}
	st := stageOf(r)
	dec.Soak = st.soak
	g := windowFor(in.Since, in.Now, st.soak)
	obs, err := observe(ctx, p, &d, in.Path, g)
	if err != nil {
		return Decision{}, err
	}
	now := obs.verdict(g.n, r, dec.Rollout)
	dec.Hosts, dec.Checks = now.hosts, now.checks
	switch {
	case len(now.halt) > 0:
		return halt(dec, d, strings.Join(now.halt, "; "), in.Now), nil
	case len(now.hold) > 0:
		dec.Why = strings.Join(now.hold, "; ")
		return dec, nil
	}
	dec.Healthy = obs.healthy(r, dec.Rollout)
	if dec.Healthy < st.soak {
		dec.Why = fmt.Sprintf("soaking: healthy for %s of %s (%s)", fmtDuration(dec.Healthy), fmtDuration(st.soak), good(dec))
		return dec, nil
	}
	dec.Why = good(dec) + ", " + soaked(st.soak)
	next := d
	if st.last {
		dec.Action, dec.To = Finish, 100
		next.Rollout = nil
	} else {
		nr := *r
		nr.Percent = &st.next
		dec.Action, dec.To, next.Rollout = Advance, st.next, &nr
	}
	dec.Next = &next
	return dec, nil
}

// healthy is how long the points of the window have been good without a
// break up to now (the last point, which the caller found good).
func (o *observation) healthy(r *reconcile.Rollout, id string) time.Duration {
	last := -1 // the last bad point
	for i := o.g.n - 1; i >= 0; i-- {
		if !o.verdict(i, r, id).good() {
			last = i
			break
		}
	}
	return time.Duration(o.g.n-last-1) * o.g.step
}

// halt fills in a halt for reason: halted recorded, and with on_halt
// revert the wave emptied (percent 0, no canary) so every host goes back
// to from.
func halt(dec Decision, d reconcile.Desired, reason string, now time.Time) Decision {
	dec.Action, dec.Why = Halt, reason
	nr := *d.Rollout
	nr.Halted = &reconcile.Halted{Reason: "reconciler promote: " + reason, Time: now.UTC().Truncate(time.Second)}
	if dec.OnHalt == reconcile.OnHaltRevert {
		zero := 0.0
		nr.Percent, nr.Canary, dec.To = &zero, nil, 0
	}
	d.Rollout = &nr
	dec.Next = &d
	return dec
}

// good is the evidence of a healthy wave: "12 of 12 hosts applied, 1
// failed (max_failed 1), 2 checks pass".
func good(dec Decision) string {
	h := dec.Hosts
	s := fmt.Sprintf("%d of %d hosts applied", len(h.Applied), h.InWave())
	if len(h.Failed) > 0 {
		s += fmt.Sprintf(", %d failed (within max_failed)", len(h.Failed))
	}
	switch n := len(dec.Checks); n {
	case 0:
	case 1:
		s += ", 1 check passes"
	default:
		s += fmt.Sprintf(", %d checks pass", n)
	}
	return s
}

func soaked(soak time.Duration) string {
	if soak == 0 {
		return "no soak"
	}
	return "soaked " + fmtDuration(soak)
}

// Subject is the decision in one line: a commit's subject, and what
// reconciler promote prints.
func (dec Decision) Subject() string {
	id := "rollout " + dec.Rollout
	switch dec.Action {
	case Advance:
		return fmt.Sprintf("%s: %s -> %s (%s)", id, fmtPercent(dec.Percent), fmtPercent(dec.To), dec.Why)
	case Halt:
		s := fmt.Sprintf("%s: halted at %s (%s); on_halt %s", id, fmtPercent(dec.Percent), dec.Why, dec.OnHalt)
		if dec.OnHalt == reconcile.OnHaltRevert {
			return s + ": percent 0, every host back to from"
		}
		return s + ": hosts stay where they are"
	case Finish:
		return fmt.Sprintf("%s: finished, %s everywhere (%s)", id, dec.Version, dec.Why)
	}
	return fmt.Sprintf("%s at %s: %s", id, fmtPercent(dec.Percent), dec.Why)
}

// Message is the commit message: the subject, then the evidence line by
// line.
func (dec Decision) Message() string {
	var b strings.Builder
	b.WriteString(dec.Subject() + "\n\n")
	h := dec.Hosts
	fmt.Fprintf(&b, "hosts: %d applied, %d pending, %d failed, %d out", len(h.Applied), len(h.Pending), len(h.Failed), len(h.Out))
	if len(h.Failed) > 0 {
		fmt.Fprintf(&b, "\nfailed: %s", names(h.Failed))
	}
	for i, c := range dec.Checks {
		fmt.Fprintf(&b, "\ncheck %d: %s", i+1, c)
	}
	if dec.Action != Halt {
		fmt.Fprintf(&b, "\nsoak: healthy for %s (step soak %s)", fmtDuration(dec.Healthy), fmtDuration(dec.Soak))
	}
	b.WriteString("\n\nby reconciler promote\n")
	return b.String()
}
