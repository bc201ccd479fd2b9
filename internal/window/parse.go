package window

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // CRON_TZ on a server without /usr/share/zoneinfo
	"unicode"

	"github.com/robfig/cron/v3"
)

// Format is the form of a window, for error messages.
const Format = `"<cron schedule> <duration>", e.g. "0 9 * * 1-5 8h"`

// Window is one parsed window: a schedule of starts and how long each lasts.
type Window struct {
	spec  string
	sched *cron.SpecSchedule
	loc   *time.Location // the schedule's zone (time.Local without CRON_TZ)
	dur   time.Duration
}

// String returns the window as it was given.
func (w *Window) String() string { return w.spec }

// Duration is how long the window stays open after each start.
func (w *Window) Duration() time.Duration { return w.dur }

// Parse reads "<cron schedule> <duration>": a standard 5-field cron
// schedule or a descriptor (@daily, @weekly, ...), optionally led by
// CRON_TZ=<zone>, and a positive Go duration as the last field.
func Parse(spec string) (*Window, error) {
	text := strings.TrimSpace(spec)
	if text == "" {
		return nil, fmt.Errorf("empty; want %s", Format)
	}
	loc, rest, err := cutZone(text)
	if err != nil {
		return nil, err
	}
	if rest == "" {
		return nil, fmt.Errorf("no schedule and duration after the zone; want %s", Format)
	}
	i := strings.LastIndexFunc(rest, unicode.IsSpace)
	if i < 0 {
		return nil, fmt.Errorf("%q is not a schedule and a duration; want %s", rest, Format)
	}
	schedText, durText := strings.TrimSpace(rest[:i]), rest[i+1:]
	dur, err := time.ParseDuration(durText)
	if err != nil {
		return nil, fmt.Errorf("the last field %q is not a duration (such as 8h or 90m); want %s", durText, Format)
	}
	if dur <= 0 {
		return nil, fmt.Errorf("duration %s: must be positive", durText)
	}
	sched, err := parseSchedule(schedText)
	if err != nil {
		return nil, err
	}
	sched.Location = loc
	return &Window{spec: text, sched: sched, loc: loc, dur: dur}, nil
}

// cutZone takes a leading CRON_TZ=<zone> (or TZ=<zone>) off text. It is
// done here rather than by robfig/cron, whose parser panics on a zone with
// nothing after it and words an unknown zone less plainly.
func cutZone(text string) (*time.Location, string, error) {
	var name string
	switch {
	case strings.HasPrefix(text, "CRON_TZ="):
		name = strings.TrimPrefix(text, "CRON_TZ=")
	case strings.HasPrefix(text, "TZ="):
		name = strings.TrimPrefix(text, "TZ=")
	default:
		return time.Local, text, nil
	}
	rest := ""
	if i := strings.IndexFunc(name, unicode.IsSpace); i >= 0 {
		name, rest = name[:i], name[i:]
	}
	if name == "" {
		return nil, "", errors.New("CRON_TZ= names no zone; want an IANA name such as CRON_TZ=Europe/Berlin")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "", fmt.Errorf("CRON_TZ=%s: unknown time zone (want an IANA name such as Europe/Berlin or UTC)", name)
	}
	return loc, strings.TrimSpace(rest), nil
}

// parseSchedule parses the schedule part: 5 fields or a descriptor.
func parseSchedule(text string) (sched *cron.SpecSchedule, err error) {
	if text == "" {
		return nil, fmt.Errorf("no schedule before the duration; want %s", Format)
	}
	if strings.HasPrefix(text, "@every") {
		return nil, fmt.Errorf("schedule %q: @every counts from whenever it is asked, not from the clock, so a window needs a cron schedule (e.g. \"0 * * * *\" for hourly)", text)
	}
	defer func() { // robfig/cron is not ours; a panic on odd input is bad input
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("schedule %q: cannot be parsed", text)
		}
	}()
	p := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := p.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", text, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("schedule %q: want a cron schedule of 5 fields or a descriptor such as @daily", text)
	}
	return spec, nil
}
