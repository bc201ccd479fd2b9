package main

import (
	"io"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// TestFlagDefaultsAreLibraryDefaults: a flag's default and what the library
// does with a zero value are one constant of the library, so the two cannot
// drift apart (a default written twice did once).
func TestFlagDefaultsAreLibraryDefaults(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	durations := []struct {
		flag string
		want time.Duration
	}{
		{"health-timeout", restart.DefaultHealthTimeout},
		{"drain-timeout", restart.DefaultDrainTimeout},
		{"hook-timeout", restart.HookTimeout},
		{"max-backoff", reconcile.DefaultMaxBackoff},
		{"git-timeout", gitsrc.DefaultTimeout},
	}
	sizes := []string{"max-artifact-size"}
	seen := map[string]int{}
	for _, cmd := range ownCommands(root) {
		for _, d := range durations {
			if f := cmd.Flags().Lookup(d.flag); f != nil {
				seen[d.flag]++
				if got := f.DefValue; got != d.want.String() {
					t.Errorf("%s --%s: default %s, want %s (the library's)", cmd.Name(), d.flag, got, d.want)
				}
			}
		}
		for _, name := range sizes {
			if f := cmd.Flags().Lookup(name); f != nil {
				seen[name]++
				got, err := parseSize(f.DefValue)
				if err != nil || got != artifacts.DefaultMaxSize {
					t.Errorf("%s --%s: default %q (%d, %v), want %d bytes (the library's)", cmd.Name(), name, f.DefValue, got, err, artifacts.DefaultMaxSize)
				}
			}
		}
	}
	for _, d := range durations {
		if seen[d.flag] == 0 {
			t.Errorf("no command has --%s", d.flag)
		}
	}
	if seen["max-artifact-size"] < 2 { // the agents' and bump's
		t.Errorf("--max-artifact-size on %d commands, want the agents' and bump's", seen["max-artifact-size"])
	}
}
