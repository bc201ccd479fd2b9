package main

import (
	"log/slog"
	"strings"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

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
