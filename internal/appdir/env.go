package appdir

import (
	"strings"
)

// Target is what a switch points the links at: a release, and where it
// came from.
type Target struct {
	Bin string // absolute, in release/
	Cfg string // absolute, in release/; "" leaves app.cfg alone
	// Revision is the deploy repo commit the release came from; "" when
	// none is known (a hand edit under watch, a switch back).
	Revision string
}

// Env is what every command run around a switch of dir (the health
// command, the hooks) gets on top of the agent's environment: the switch
// from the binary from ("" on a first start) to the target to. A release
// without a config names the config app.cfg points at. The one place these
// variables are spelled, so the health command and the hooks cannot be told
// different things.
func Env(dir, from string, to Target) []string {
	cfg := to.Cfg
	if cfg == "" {
		cfg = LinkTarget(dir, CfgLink)
	}
	return []string{
		"RECONCILER_DIR=" + dir,
		"RECONCILER_FROM_VERSION=" + Version(from),
		"RECONCILER_TO_VERSION=" + Version(to.Bin),
		"RECONCILER_REVISION=" + to.Revision,
		"RECONCILER_BIN=" + to.Bin,
		"RECONCILER_CFG=" + cfg,
	}
}

// EnvNames are the names of the variables Env sets: a reconciler run by a
// hook or a health command inherits them, and must not take them for typos.
func EnvNames() []string {
	var names []string
	for _, kv := range Env("", "", Target{Cfg: "-"}) {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}
