package window

import (
	"testing"
	"testing/synctest"
	"time"
)

// The tests below walk a fake clock (testing/synctest: time.Sleep moves it
// at once) the way the agent does: look at the time, sleep until NextOpen,
// look again. An independent rule, the wall clock in the window's zone,
// says what the answer must be.

// sleepUntil moves the bubble's clock to t.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// TestClockAcrossDSTSwitch checks a Berlin office window minute by minute
// for four days around each of 2026's clock changes: it is open exactly
// while the Berlin wall clock reads 09:00 to 16:59, and NextOpen from any
// closed minute is the next 09:00 in Berlin.
func TestClockAcrossDSTSwitch(t *testing.T) {
	for _, from := range []time.Time{at("2026-03-27T00:00:00Z"), at("2026-10-23T00:00:00Z")} {
		synctest.Test(t, func(t *testing.T) {
			berlin, err := time.LoadLocation("Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			s := set(t, []string{"CRON_TZ=Europe/Berlin 0 9 * * * 8h"}, nil)
			sleepUntil(from)
			opened := 0
			for end := from.Add(4 * 24 * time.Hour); time.Now().Before(end); time.Sleep(time.Minute) {
				now := time.Now()
				wall := now.In(berlin)
				want := wall.Hour() >= 9 && wall.Hour() < 17
				if got := s.Open(now); got != want {
					t.Fatalf("Open at %s (%s in Berlin) = %v, want %v", now.UTC().Format(time.RFC3339), wall.Format("15:04 MST"), got, want)
				}
				next, ok := s.NextOpen(now)
				if !ok {
					t.Fatalf("NextOpen(%s): none", now)
				}
				nw := next.In(berlin)
				if !want && (nw.Hour() != 9 || nw.Minute() != 0 || next.Sub(now) > 24*time.Hour) {
					t.Fatalf("NextOpen at %s = %s, want the next 09:00 in Berlin", wall.Format(time.RFC3339), nw.Format(time.RFC3339))
				}
				if wall.Hour() == 9 && wall.Minute() == 0 {
					opened++
				}
			}
			if opened != 4 {
				t.Errorf("saw %d openings in four days, want 4", opened)
			}
		})
	}
}

// TestSleepToEachOpening walks from opening to opening as the agent's
// timer does, across midnight and the spring-forward night, with a deny
// window in the way: each wake-up finds the set open, at the expected
// instants.
func TestSleepToEachOpening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := set(t, []string{"CRON_TZ=Europe/Berlin 30 2 * * * 1h", "CRON_TZ=UTC 0 23 * * * 75m"},
			[]string{"CRON_TZ=UTC 30 23 27 3 * 30m"}) // a freeze up to the first midnight
		sleepUntil(at("2026-03-27T12:00:00Z"))
		want := []string{
			"2026-03-27T23:00:00Z",
			"2026-03-28T00:00:00Z", // the freeze ends at midnight; the window runs on past it
			"2026-03-28T01:30:00Z", // 02:30 CET
			"2026-03-28T23:00:00Z",
			"2026-03-29T01:00:00Z", // the skipped 02:30 starts at the jump: 03:00 CEST
			"2026-03-29T23:00:00Z",
			"2026-03-30T00:30:00Z", // 02:30 CEST
		}
		var got []string
		for len(got) < len(want) {
			next, ok := s.NextOpen(time.Now())
			if !ok {
				t.Fatalf("NextOpen(%s): none", time.Now())
			}
			sleepUntil(next)
			if !s.Open(time.Now()) {
				t.Fatalf("woke at %s, NextOpen's answer, and the set is closed", time.Now())
			}
			got = append(got, time.Now().UTC().Format(time.RFC3339))
			for s.Open(time.Now()) { // sit out this opening, a minute at a time
				time.Sleep(time.Minute)
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("opening %d: got %s, want %s", i, got[i], want[i])
			}
		}
	})
}
