package window

import (
	"testing"
	"time"
)

// FuzzParse: Parse never panics (robfig/cron's parser does on some input),
// and a window it accepts behaves: a positive duration, the same window
// from its String, starts strictly after the time asked, and a NextOpen
// that is open and not in the past.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 9 * * 1-5 8h", "CRON_TZ=Europe/Berlin 30 2 * * * 1h", "TZ=UTC @daily 1h", "@every 1h 1m",
		"CRON_TZ=Europe/Berlin", "CRON_TZ= 0 9 * * * 1h", "0 0 30 2 * 1h", "*/7 1-5/2 1,15 */3 MON-FRI 1.5h", "", "0 9 * * 1-5 -1h"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		w, err := Parse(spec)
		if err != nil {
			return
		}
		if w.Duration() <= 0 {
			t.Fatalf("Parse(%q): duration %v, want positive", spec, w.Duration())
		}
		again, err := Parse(w.String())
		if err != nil || again.Duration() != w.Duration() || again.loc.String() != w.loc.String() || !sameFields(again, w) {
			t.Fatalf("Parse(%q).String() = %q parses as another window (%v)", spec, w.String(), err)
		}
		if n := w.next(now); !n.IsZero() && !n.After(now) {
			t.Fatalf("%q: next start after %s is %s, not after it", spec, now, n)
		}
		s := Set{Allow: []*Window{w}}
		if got, ok := s.NextOpen(now); ok && (got.Before(now) || !s.Open(got)) {
			t.Fatalf("%q: NextOpen(%s) = %s, in the past or closed", spec, now, got)
		}
	})
}

func sameFields(a, b *Window) bool {
	x, y := *a.sched, *b.sched
	x.Location, y.Location = nil, nil
	return x == y
}
