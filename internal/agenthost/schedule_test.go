package agenthost

import (
	"log/slog"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// TestScheduleTicksWithTheApps: a reader on Apps.Schedule (the agent's
// own updates) looks when the apps of that schedule and jitter poll: on
// their grid, the host's one delay after each tick, so it shares their
// ref listing.
func TestScheduleTicksWithTheApps(t *testing.T) {
	t.Parallel()
	h := NewApps(t.TempDir(), t.TempDir(), nil, slog.New(slog.DiscardHandler))
	every, jitter := cron.ConstantDelaySchedule{Delay: 30 * time.Second}, 10*time.Second
	s := h.Schedule(every, jitter)
	d := time.Duration(h.phase(int64(jitter))) // what each app's agent adds (reconcile.Agent.Rand is h.phase)
	apps := alignSchedule(every)
	for _, end := range []time.Time{time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC), time.Now()} {
		tick := apps.Next(end).Add(d) // an app's poll, and the reader's look
		pollEnd := tick.Add(40 * time.Millisecond)
		if got, want := s.Next(pollEnd), apps.Next(pollEnd).Add(d); !got.Equal(want) {
			t.Errorf("after a poll ending at %s: reader's next %s, apps' next %s", pollEnd, got, want)
		}
		if got := s.Next(tick.Add(-time.Millisecond)); !got.Equal(tick) {
			t.Errorf("just before the apps' tick %s: reader's next %s", tick, got)
		}
	}
	if s := h.Schedule(every, 0); !s.Next(time.Unix(95, 0)).Equal(time.Unix(120, 0)) {
		t.Errorf("no jitter: next after 95 s is %s, want the grid's 120 s", s.Next(time.Unix(95, 0)))
	}
}
