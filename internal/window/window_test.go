package window

import (
	"testing"
	"time"
)

func mustParse(t *testing.T, spec string) *Window {
	t.Helper()
	w, err := Parse(spec)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	return w
}

func set(t *testing.T, allow, deny []string) Set {
	var s Set
	for _, a := range allow {
		s.Allow = append(s.Allow, mustParse(t, a))
	}
	for _, d := range deny {
		s.Deny = append(s.Deny, mustParse(t, d))
	}
	return s
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	office = "CRON_TZ=UTC 0 9 * * 1-5 8h" // weekdays 09:00-17:00 UTC
	lunch  = "CRON_TZ=UTC 0 12 * * * 1h"  // a daily freeze 12:00-13:00
	night  = "CRON_TZ=UTC 0 22 * * * 4h"  // 22:00-02:00, across midnight
)

// TestOpenAndNextOpen: 2026-12-04 is a Friday.
func TestOpenAndNextOpen(t *testing.T) {
	for _, tc := range []struct {
		name        string
		allow, deny []string
		at          string
		open        bool
		next        string // NextOpen; "" when it never opens
	}{
		{"no windows: always", nil, nil, "2026-12-04T03:00:00Z", true, "2026-12-04T03:00:00Z"},
		{"inside", []string{office}, nil, "2026-12-04T10:00:00Z", true, "2026-12-04T10:00:00Z"},
		{"the start is inside", []string{office}, nil, "2026-12-04T09:00:00Z", true, "2026-12-04T09:00:00Z"},
		{"the end is outside", []string{office}, nil, "2026-12-04T17:00:00Z", false, "2026-12-07T09:00:00Z"},
		{"a second before the start", []string{office}, nil, "2026-12-04T08:59:59Z", false, "2026-12-04T09:00:00Z"},
		{"friday evening waits for monday", []string{office}, nil, "2026-12-04T18:00:00Z", false, "2026-12-07T09:00:00Z"},
		{"either of two windows", []string{office, "CRON_TZ=UTC 0 10 * * 6 2h"}, nil, "2026-12-04T18:00:00Z", false, "2026-12-05T10:00:00Z"},
		{"deny wins over allow", []string{office}, []string{lunch}, "2026-12-04T12:30:00Z", false, "2026-12-04T13:00:00Z"},
		{"deny alone", nil, []string{lunch}, "2026-12-04T12:00:00Z", false, "2026-12-04T13:00:00Z"},
		{"deny alone, outside it", nil, []string{lunch}, "2026-12-04T11:59:59Z", true, "2026-12-04T11:59:59Z"},
		{"deny covers the start", []string{office}, []string{"CRON_TZ=UTC 0 8 * * * 2h"}, "2026-12-04T07:00:00Z", false, "2026-12-04T10:00:00Z"},
		{"deny covers a whole window", []string{office}, []string{"CRON_TZ=UTC 0 0 4 12 * 24h"}, "2026-12-04T07:00:00Z", false, "2026-12-07T09:00:00Z"},
		{"overlapping starts: always open", []string{"CRON_TZ=UTC 0 * * * * 2h"}, nil, "2026-12-04T07:30:00Z", true, "2026-12-04T07:30:00Z"},
		{"across midnight", []string{night}, nil, "2026-12-05T01:59:59Z", true, "2026-12-05T01:59:59Z"},
		{"after the night", []string{night}, nil, "2026-12-05T02:00:00Z", false, "2026-12-05T22:00:00Z"},
		{"a leap day is more than a year away", []string{"CRON_TZ=UTC 0 0 29 2 * 1h"}, nil, "2026-12-04T00:00:00Z", false, ""},
		{"a schedule that never fires", []string{"CRON_TZ=UTC 0 0 30 2 * 1h"}, nil, "2026-12-04T00:00:00Z", false, ""},
		{"deny covers every allow", []string{office}, []string{"CRON_TZ=UTC 0 0 * * * 24h"}, "2026-12-04T00:00:00Z", false, ""},
		{"deny always on", nil, []string{"CRON_TZ=UTC 0 * * * * 61m"}, "2026-12-04T00:00:00Z", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := set(t, tc.allow, tc.deny)
			now := at(tc.at)
			if got := s.Open(now); got != tc.open {
				t.Errorf("Open(%s) = %v, want %v", tc.at, got, tc.open)
			}
			got, ok := s.NextOpen(now)
			switch {
			case tc.next == "" && ok:
				t.Errorf("NextOpen(%s) = %s, want none within the horizon", tc.at, got.Format(time.RFC3339))
			case tc.next != "" && (!ok || !got.Equal(at(tc.next))):
				t.Errorf("NextOpen(%s) = %s (%v), want %s", tc.at, got.Format(time.RFC3339), ok, tc.next)
			case ok && !s.Open(got):
				t.Errorf("NextOpen(%s) = %s, where Open is false", tc.at, got.Format(time.RFC3339))
			}
		})
	}
}

// TestDSTInBerlin: the clock springs from 02:00 to 03:00 CET->CEST on
// 2026-03-29 and falls back from 03:00 to 02:00 CEST->CET on 2026-10-25.
func TestDSTInBerlin(t *testing.T) {
	for _, tc := range []struct {
		name, spec, at string
		open           bool
		next           string
	}{
		// A start the clock skips (02:30) is taken at the jump, 03:00 CEST,
		// and lasts its hour from there.
		{"skipped start, before the jump", "CRON_TZ=Europe/Berlin 30 2 * * * 1h", "2026-03-29T00:59:59Z", false, "2026-03-29T01:00:00Z"},
		{"skipped start, at the jump", "CRON_TZ=Europe/Berlin 30 2 * * * 1h", "2026-03-29T01:00:00Z", true, "2026-03-29T01:00:00Z"},
		{"skipped start, an hour on", "CRON_TZ=Europe/Berlin 30 2 * * * 1h", "2026-03-29T02:00:00Z", false, "2026-03-30T00:30:00Z"},
		{"a nightly window opens on the short night too", "CRON_TZ=Europe/Berlin 0 2 * * * 3h", "2026-03-29T02:30:00Z", true, "2026-03-29T02:30:00Z"},
		// Durations are elapsed time: midnight plus 8h is 09:00 CEST.
		{"duration across the jump", "CRON_TZ=Europe/Berlin 0 0 * * * 8h", "2026-03-29T06:59:59Z", true, "2026-03-29T06:59:59Z"},
		{"duration across the jump, ended", "CRON_TZ=Europe/Berlin 0 0 * * * 8h", "2026-03-29T07:00:00Z", false, "2026-03-29T22:00:00Z"},
		// The repeated hour: 02:30 comes twice, and so does the window.
		{"repeated hour, first pass", "CRON_TZ=Europe/Berlin 30 2 * * * 10m", "2026-10-25T00:35:00Z", true, "2026-10-25T00:35:00Z"},
		{"repeated hour, between", "CRON_TZ=Europe/Berlin 30 2 * * * 10m", "2026-10-25T00:45:00Z", false, "2026-10-25T01:30:00Z"},
		{"repeated hour, second pass", "CRON_TZ=Europe/Berlin 30 2 * * * 10m", "2026-10-25T01:35:00Z", true, "2026-10-25T01:35:00Z"},
		{"duration across the fall back", "CRON_TZ=Europe/Berlin 0 0 * * * 8h", "2026-10-25T06:00:00Z", false, "2026-10-25T23:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := set(t, []string{tc.spec}, nil)
			now := at(tc.at)
			if got := s.Open(now); got != tc.open {
				t.Errorf("Open(%s) = %v, want %v", tc.at, got, tc.open)
			}
			if got, ok := s.NextOpen(now); !ok || !got.Equal(at(tc.next)) {
				t.Errorf("NextOpen(%s) = %s (%v), want %s", tc.at, got.UTC().Format(time.RFC3339), ok, tc.next)
			}
		})
	}
}

func TestNextStart(t *testing.T) {
	w := mustParse(t, office)
	now := at("2026-12-04T09:00:00Z")
	if got, ok := w.NextStart(now); !ok || !got.Equal(at("2026-12-07T09:00:00Z")) {
		t.Errorf("NextStart(%s) = %s (%v), want the next start strictly after it, 2026-12-07T09:00:00Z", now, got, ok)
	}
	if got, ok := mustParse(t, "CRON_TZ=UTC 0 0 30 2 * 1h").NextStart(now); ok {
		t.Errorf("NextStart of a schedule that never fires = %s, want none", got)
	}
}

// TestLocalZoneByDefault: without CRON_TZ the schedule is read in the
// local zone, whatever zone the time asked about is in.
func TestLocalZoneByDefault(t *testing.T) {
	w := mustParse(t, "0 9 * * * 1h")
	nine := time.Date(2026, 12, 4, 9, 30, 0, 0, time.Local)
	for _, t2 := range []time.Time{nine, nine.UTC(), nine.In(time.FixedZone("X", 5*3600))} {
		if !w.Contains(t2) {
			t.Errorf("Contains(%s) = false, want true: 09:30 local", t2)
		}
	}
}
