package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/window"
	"github.com/spf13/pflag"
)

// addWindowFlags registers --window and --deny-window (sync, run, diff).
// watch has neither: a hand edit is a person acting, never held by windows.
func (c *Config) addWindowFlags(fs *pflag.FlagSet) {
	fs.Var((*specList)(&c.Windows), "window", `deploy only inside this window: "<cron schedule> <duration>", e.g. "0 9 * * 1-5 8h", optionally led by CRON_TZ=<zone>; repeatable (or several separated by ";")`)
	fs.Var((*specList)(&c.DenyWindows), "deny-window", "never deploy inside this window (a freeze; wins over --window); the same form; repeatable")
}

// specList is a repeatable flag of window specs, each checked as it is
// set, so that a bad one is reported as the flag or the RECONCILER_*
// variable it came from. One value may hold several separated by ";", so
// that one RECONCILER_WINDOW line of an environment file can give them
// all (cron schedules have no ";").
type specList []string

func (l *specList) String() string { return strings.Join(*l, "; ") }
func (l *specList) Type() string   { return "spec" }

func (l *specList) Set(v string) error {
	for _, s := range strings.Split(v, ";") {
		s = strings.TrimSpace(s)
		if _, err := window.Parse(s); err != nil {
			return err
		}
		*l = append(*l, s)
	}
	return nil
}

// resolveWindows sets the windows of --window and --deny-window
// (windowSet).
func (c *Config) resolveWindows(now time.Time) error {
	set, err := c.windowSet(now)
	if err != nil {
		return err
	}
	c.windows = set
	return nil
}

// windowSet parses --window and --deny-window (each was checked when it
// was set). A window that never opens, or deny windows that leave no time
// to deploy, within the next year (window.Horizon) are refused: nothing
// would ever deploy, and `reconciler suspend` is the way to say that on
// purpose.
func (c Config) windowSet(now time.Time) (window.Set, error) {
	var set window.Set
	for _, spec := range c.Windows {
		w, err := window.Parse(spec)
		if err != nil {
			return window.Set{}, &usageError{msg: fmt.Sprintf("--window %q: %v", spec, err)}
		}
		if _, ok := (window.Set{Allow: []*window.Window{w}}).NextOpen(now); !ok {
			return window.Set{}, &usageError{msg: fmt.Sprintf("--window %q: never opens in the next year", spec)}
		}
		set.Allow = append(set.Allow, w)
	}
	for _, spec := range c.DenyWindows {
		w, err := window.Parse(spec)
		if err != nil {
			return window.Set{}, &usageError{msg: fmt.Sprintf("--deny-window %q: %v", spec, err)}
		}
		if _, ok := w.NextStart(now); !ok && !w.Contains(now) {
			return window.Set{}, &usageError{msg: fmt.Sprintf("--deny-window %q: never starts in the next year", spec)}
		}
		set.Deny = append(set.Deny, w)
	}
	if set.Empty() {
		return set, nil
	}
	if _, ok := set.NextOpen(now); !ok {
		what := "--deny-window leaves no time to deploy"
		if len(set.Allow) > 0 {
			what = "--deny-window covers every --window"
		}
		return window.Set{}, &usageError{msg: what + " in the next year: nothing would ever deploy (to hold deploys on purpose: `reconciler suspend`)"}
	}
	return set, nil
}
