package promote

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// stage is where a rollout stands among its steps.
type stage struct {
	soak time.Duration // the current step's soak
	next float64       // the next step's percent; 100 past the last step
	last bool          // at 100%: the next move is to finish
}

// stageOf finds the current step of r. The current percent need not be a
// step's: the soak is that of the step whose percent equals it or else the
// last step below it (none: no soak), and the next step is the first whose
// percent is above it (none: 100). Percents are compared in hundredths, as
// buckets are.
func stageOf(r *reconcile.Rollout) stage {
	cur := r.PercentOf()
	st := stage{next: 100, last: cur >= 10000}
	found := false
	for _, s := range r.Steps {
		p := hundredths(s.Percent)
		switch {
		case p <= cur:
			st.soak = s.SoakFor() // steps only widen: the last one wins
		case !found:
			st.next, found = s.Percent, true
		}
	}
	return st
}

func hundredths(p float64) int { return int(math.Round(p * 100)) }

// grid is the times a range query is evaluated at: start + i*step for i
// in 0..n; the last is the decision's now.
type grid struct {
	start time.Time
	step  time.Duration
	n     int
}

// maxPoints bounds the points of the soak window: Prometheus allows 11,000
// per series, and a finer step only finds blips shorter than the scrape
// interval.
const maxPoints = 240

// stepFor is the resolution of a soak window: soak/240, whole seconds, at
// least 1 s.
func stepFor(soak time.Duration) time.Duration {
	step := (soak + maxPoints - 1) / maxPoints
	return max(time.Second, (step + time.Second - 1).Truncate(time.Second))
}

// windowFor is the stretch of time the decision looks at: the soak before
// now, but nothing before since (the commit that made the current wave:
// before it, the wave was another). With no soak, now alone.
func windowFor(since, now time.Time, soak time.Duration) grid {
	step := stepFor(soak)
	n := int((soak + step - 1) / step)
	if avail := now.Sub(since); avail < time.Duration(n)*step {
		n = int(max(avail, 0) / step)
	}
	return grid{start: now.Add(-time.Duration(n) * step), step: step, n: n}
}

// at is the time of point i.
func (g grid) at(i int) time.Time { return g.start.Add(time.Duration(i) * g.step) }

// index is the point a sample time belongs to, false if none.
func (g grid) index(t time.Time) (int, bool) {
	d := t.Sub(g.start)
	i := int(math.Round(float64(d) / float64(g.step)))
	if i < 0 || i > g.n {
		return 0, false
	}
	off := t.Sub(g.at(i))
	return i, off < g.step/2 && off > -g.step/2
}

// fmtPercent writes a percent as the file has it: 10%, 0.5%.
func fmtPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// fmtDuration writes a duration as a person would: 1h, 1h30m, 45s.
func fmtDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
