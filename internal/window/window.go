package window

import "time"

// Horizon bounds every search: a little over a year, so that every yearly
// schedule starts within it whenever it is asked.
const Horizon = 367 * 24 * time.Hour

// Contains reports whether the window is open at t: some start s has
// s <= t < s+d. The earliest start after t-d is at or before t exactly
// when one is.
func (w *Window) Contains(t time.Time) bool {
	s := w.next(t.Add(-w.dur))
	return !s.IsZero() && !s.After(t)
}

// NextStart returns the window's first start strictly after t, and false
// when it does not start within Horizon.
func (w *Window) NextStart(t time.Time) (time.Time, bool) {
	s := w.next(t)
	if s.IsZero() || s.After(t.Add(Horizon)) {
		return time.Time{}, false
	}
	return s.In(t.Location()), true
}

// next returns the first start strictly after x (zero when robfig/cron
// finds none within its five years): the schedule's own activations, and
// the moment the clock jumps over a start that a spring-forward change
// skips.
func (w *Window) next(x time.Time) time.Time {
	x = x.In(w.loc) // a schedule without CRON_TZ is read in the zone of its argument
	a := w.sched.Next(x)
	limit := a
	if a.IsZero() {
		limit = x.Add(Horizon)
	}
	if j := w.skippedStart(x, limit); !j.IsZero() {
		return j
	}
	return a
}

// skippedStart returns the first clock change in (x, limit] that skips
// over a start of the schedule, zero if none does. A change that moves the
// clock forward by g at T skips the wall times [T, T+g) of the old offset;
// the schedule read in that fixed old offset starts there exactly when
// robfig/cron, reading the real zone, drops a start.
func (w *Window) skippedStart(x, limit time.Time) time.Time {
	t := x
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(limit) {
			return time.Time{}
		}
		_, before := t.Zone()
		_, after := end.Zone()
		if gap := time.Duration(after-before) * time.Second; gap > 0 {
			fixed := *w.sched
			fixed.Location = time.FixedZone("", before)
			if s := fixed.Next(end.Add(-time.Nanosecond)); !s.IsZero() && s.Before(end.Add(gap)) {
				return end
			}
		}
		t = end
	}
}

// Set is the windows of one app: deploys happen inside one of Allow (any
// time when there is none) and inside none of Deny.
type Set struct {
	Allow []*Window
	Deny  []*Window
}

// Empty reports whether the set holds no window: always open.
func (s Set) Empty() bool { return len(s.Allow) == 0 && len(s.Deny) == 0 }

// Open reports whether a deploy may happen at t.
func (s Set) Open(t time.Time) bool {
	_, open := s.step(t)
	return open
}

// NextOpen returns the earliest time at or after t when the set is open,
// and false when it does not open within Horizon.
func (s Set) NextOpen(t time.Time) (time.Time, bool) {
	limit := t.Add(Horizon)
	for c := t; !c.IsZero() && !c.After(limit); {
		n, open := s.step(c)
		if open {
			return c.In(t.Location()), true
		}
		c = n
	}
	return time.Time{}, false
}

// step reports whether the set is open at c and, when it is not, the next
// time worth looking at: the end of a deny window that holds c, or the
// next start of an allow window (zero: none ever). The set's state changes
// only at such times, so stepping from one to the next finds the earliest
// opening, and every step moves forward.
func (s Set) step(c time.Time) (time.Time, bool) {
	for _, w := range s.Deny {
		if st := w.next(c.Add(-w.dur)); !st.IsZero() && !st.After(c) {
			return st.Add(w.dur), false
		}
	}
	if len(s.Allow) == 0 {
		return c, true
	}
	var soonest time.Time
	for _, w := range s.Allow {
		if w.Contains(c) {
			return c, true
		}
		if st := w.next(c); !st.IsZero() && (soonest.IsZero() || st.Before(soonest)) {
			soonest = st
		}
	}
	return soonest, false
}
