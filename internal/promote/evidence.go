package promote

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// Hosts is what the agents reporting a rollout say at one moment, by host
// id (sorted). A host is counted in the wave when it reports applied,
// pending or failed.
type Hosts struct {
	Applied, Pending, Failed, Out []string
	// NotSeen report another percent than the file's (or none): they have
	// not read the current commit yet.
	NotSeen []string
	// Unclear report no state, several, or one not known.
	Unclear []string
}

// Reporting is how many agents report the rollout.
func (h Hosts) Reporting() int {
	return len(h.Applied) + len(h.Pending) + len(h.Failed) + len(h.Out) + len(h.Unclear)
}

// InWave is how many hosts report themselves in the wave.
func (h Hosts) InWave() int { return len(h.Applied) + len(h.Pending) + len(h.Failed) }

// CheckResult is one check's answer at the moment of the decision.
type CheckResult struct {
	Query    string
	Min, Max *float64
	Value    float64
	// Missing says why there is no number ("" when there is one): no
	// result, several series, NaN, or Prometheus refused the query.
	Missing string
}

// Pass reports a number within the bounds (inclusive).
func (c CheckResult) Pass() bool {
	return c.Missing == "" && (c.Min == nil || c.Value >= *c.Min) && (c.Max == nil || c.Value <= *c.Max)
}

// outside says how the number breaks a bound, "" if it does not.
func (c CheckResult) outside() string {
	switch {
	case c.Missing != "":
		return ""
	case c.Min != nil && c.Value < *c.Min:
		return fmt.Sprintf("%s < min %s", fmtNum(c.Value), fmtNum(*c.Min))
	case c.Max != nil && c.Value > *c.Max:
		return fmt.Sprintf("%s > max %s", fmtNum(c.Value), fmtNum(*c.Max))
	}
	return ""
}

// String is the check's line in a commit message.
func (c CheckResult) String() string {
	var b []string
	if c.Min != nil {
		b = append(b, "min "+fmtNum(*c.Min))
	}
	if c.Max != nil {
		b = append(b, "max "+fmtNum(*c.Max))
	}
	got := c.Missing
	switch {
	case c.Missing != "":
		got = "missing data: " + c.Missing
	case c.Pass():
		got = fmtNum(c.Value) + " passes"
	default:
		got = c.outside() + ": fails"
	}
	return fmt.Sprintf("%s (%s): %s", shorten(c.Query, 120), strings.Join(b, ", "), got)
}

// verdict is the judgement of one point of the window: what would halt
// the rollout, and what holds it (missing data among it). A point with
// neither is good.
type verdict struct {
	hosts  Hosts
	checks []CheckResult
	halt   []string
	hold   []string
}

func (v verdict) good() bool { return len(v.halt) == 0 && len(v.hold) == 0 }

// verdict judges point i of the observation by the rules of the rollout.
func (o *observation) verdict(i int, r *reconcile.Rollout, id string) verdict {
	var v verdict
	pct := r.PercentOf()
	for _, a := range o.agents[i] {
		if !a.seen || hundredths(a.percent) != pct {
			v.hosts.NotSeen = append(v.hosts.NotSeen, a.id)
		}
		state := ""
		if len(a.states) == 1 {
			state = a.states[0]
		}
		switch state {
		case StateApplied:
			v.hosts.Applied = append(v.hosts.Applied, a.id)
		case StatePending:
			v.hosts.Pending = append(v.hosts.Pending, a.id)
		case StateFailed:
			v.hosts.Failed = append(v.hosts.Failed, a.id)
		case StateOut:
			v.hosts.Out = append(v.hosts.Out, a.id)
		default:
			v.hosts.Unclear = append(v.hosts.Unclear, a.id)
		}
	}
	for _, l := range []*[]string{&v.hosts.Applied, &v.hosts.Pending, &v.hosts.Failed, &v.hosts.Out, &v.hosts.NotSeen, &v.hosts.Unclear} {
		slices.Sort(*l)
	}
	h := v.hosts
	if len(h.Failed) > r.MaxFailed {
		v.halt = append(v.halt, fmt.Sprintf("%d %s failed, more than max_failed %d (%s)", len(h.Failed), plural(len(h.Failed), "host"), r.MaxFailed, names(h.Failed)))
	}
	if h.Reporting() == 0 {
		v.hold = append(v.hold, "missing data: no agent reports rollout "+id)
	}
	if len(h.Unclear) > 0 {
		v.hold = append(v.hold, fmt.Sprintf("missing data: %d %s report no rollout state, or several (%s)", len(h.Unclear), plural(len(h.Unclear), "host"), names(h.Unclear)))
	}
	reporting := map[string]bool{}
	for _, a := range o.agents[i] {
		reporting[a.id] = true
	}
	var silent []string
	for _, c := range r.Canary {
		if !reporting[c] {
			silent = append(silent, c)
		}
	}
	if h.Reporting() > 0 && len(silent) > 0 {
		v.hold = append(v.hold, fmt.Sprintf("missing data: canary %s not reporting rollout %s", names(silent), id))
	}
	for n, c := range r.Checks {
		res := CheckResult{Query: c.Query, Min: c.Min, Max: c.Max, Value: o.checks[n][i].value, Missing: o.checks[n][i].missing}
		v.checks = append(v.checks, res)
		if why := res.outside(); why != "" {
			v.halt = append(v.halt, fmt.Sprintf("check %d out of bounds: %s (%s)", n+1, why, shorten(c.Query, 80)))
		}
		if res.Missing != "" {
			v.hold = append(v.hold, fmt.Sprintf("missing data: check %d (%s): %s", n+1, shorten(c.Query, 80), res.Missing))
		}
	}
	if len(h.NotSeen) > 0 {
		v.hold = append(v.hold, fmt.Sprintf("%d of %d hosts have not read %s yet (%s)", len(h.NotSeen), h.Reporting(), fmtPercent(*r.Percent), names(h.NotSeen)))
	}
	if len(h.Pending) > 0 {
		v.hold = append(v.hold, fmt.Sprintf("%d of %d hosts in the wave not yet applied (%s)", len(h.Pending), h.InWave(), names(h.Pending)))
	}
	return v
}

// maxNames is how many host ids a message lists before "and N more".
const maxNames = 5

func names(ids []string) string {
	if len(ids) <= maxNames {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:maxNames], ", ") + fmt.Sprintf(" and %d more", len(ids)-maxNames)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// shorten cuts s to at most n bytes (at a rune boundary) with an ellipsis.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n - 1
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
