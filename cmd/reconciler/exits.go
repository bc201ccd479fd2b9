package main

import (
	"log/slog"
	"strings"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// exitWatch is the exit watch of an engine's app directory, sharing the
// switcher's record of the statuses it reaped and its "switching" flag;
// nil when the engine has no restart.Switcher.
func exitWatch(eng *reconcile.Engine) *restart.ExitWatch {
	sw, ok := eng.Switcher.(*restart.Switcher)
	if !ok {
		return nil
	}
	return &restart.ExitWatch{Dir: sw.Dir, Reaped: sw.Reaped, Switching: sw.Switching, Switches: sw.Switches, Served: sw.Served}
}

// appExit is an exit as the reconcile package keeps it.
func appExit(x restart.Exit) reconcile.AppExit {
	return reconcile.AppExit{Time: x.Time.UTC(), PID: x.PID, BinFile: x.Exe, Status: x.Status(), LogTail: x.LogTail}
}

// exitPolicy is what an exit of the app brings, from --crash-loop and
// --exec.
func exitPolicy(c *Config) reconcile.ExitPolicy {
	return reconcile.ExitPolicy{CrashLoop: c.crashLoop, Supervised: supervised(c)}
}

// supervised: an empty --exec says the app has a supervisor of its own.
func supervised(c *Config) bool { return strings.TrimSpace(c.Exec) == "" }

// warnUnguarded says at start when nothing judges a release after it came
// up: no bake and no crash-loop rule.
func warnUnguarded(c *Config, log *slog.Logger) {
	if c.HealthBake == 0 && !c.crashLoop.On() && c.mode != restart.ModeNone {
		log.Warn("neither --health-bake nor --crash-loop guards a switch: a release that comes up and dies later is started again and again, never switched back")
	}
}
