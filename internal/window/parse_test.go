package window

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		dur  time.Duration
		zone string // the schedule's zone; "Local" without CRON_TZ
	}{
		{"0 9 * * 1-5 8h", 8 * time.Hour, "Local"},
		{"  0 9 * * 1-5   8h  ", 8 * time.Hour, "Local"},
		{"0 9,13 * * * 30m", 30 * time.Minute, "Local"},
		{"CRON_TZ=Europe/Berlin 0 9 * * 1-5 8h", 8 * time.Hour, "Europe/Berlin"},
		{"TZ=UTC 0 22 * * * 4h", 4 * time.Hour, "UTC"},
		{"CRON_TZ=America/New_York\t0 9 * * *\t1h30m", 90 * time.Minute, "America/New_York"},
		{"@daily 1h", time.Hour, "Local"},
		{"CRON_TZ=Asia/Tokyo @weekly 2h", 2 * time.Hour, "Asia/Tokyo"},
		{"0 0 29 2 * 1s", time.Second, "Local"}, // leap days: parses; Set.NextOpen judges it
	} {
		w, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if w.Duration() != tc.dur || w.loc.String() != tc.zone || w.String() != strings.TrimSpace(tc.spec) {
			t.Errorf("Parse(%q): got duration %v, zone %s, string %q; want %v, %s, the spec", tc.spec, w.Duration(), w.loc, w.String(), tc.dur, tc.zone)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"8h", "not a schedule and a duration"},
		{"0 9 * * 1-5", `the last field "1-5" is not a duration`},
		{"0 9 * * 1-5 8", `the last field "8" is not a duration`},
		{"0 9 * * 1-5 0s", "must be positive"},
		{"0 9 * * 1-5 -8h", "must be positive"},
		{"0 9 * * 1-5 8x", "is not a duration"},
		{"CRON_TZ=Europe/Berlinn 0 9 * * * 8h", "CRON_TZ=Europe/Berlinn: unknown time zone"},
		{"CRON_TZ=../../etc/passwd 0 9 * * * 8h", "unknown time zone"},
		{"CRON_TZ= 0 9 * * * 8h", "names no zone"},
		{"CRON_TZ=Europe/Berlin", "no schedule and duration after the zone"}, // no space: robfig/cron itself panics here
		{"CRON_TZ=Europe/Berlin 8h", "not a schedule and a duration"},
		{"CRON_TZ=Europe/Berlin 0 9 * * *", "is not a duration"},
		{"@every 1h 10m", "@every counts from whenever it is asked"},
		{"@reboot 1h", "unrecognized descriptor"},
		{"0 0 9 * * 1-5 8h", "expected exactly 5 fields"},
		{"61 * * * * 1h", "above maximum"},
		{"* * * * 1h", "expected exactly 5 fields"},
	} {
		_, err := Parse(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): got error %v, want one saying %q", tc.spec, err, tc.want)
		}
	}
}
