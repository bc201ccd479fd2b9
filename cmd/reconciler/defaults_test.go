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
	words := []struct{ flag, want string }{
		{"ref", gitsrc.DefaultRef},
		{"restart", string(restart.ModeHUP)},
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
		for _, w := range words {
			if f := cmd.Flags().Lookup(w.flag); f != nil {
				seen[w.flag]++
				if f.DefValue != w.want {
					t.Errorf("%s --%s: default %q, want %q (the library's)", cmd.Name(), w.flag, f.DefValue, w.want)
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
	for _, w := range words {
		if seen[w.flag] == 0 {
			t.Errorf("no command has --%s", w.flag)
		}
	}
	// gitsrc may not import artifacts: its stream bound, which the flag
	// sets too (sourceOptions), is a copy kept equal here
	if gitsrc.DefaultMaxStreamSize != artifacts.DefaultMaxSize {
		t.Errorf("gitsrc.DefaultMaxStreamSize %d, artifacts.DefaultMaxSize %d: want one default for --max-artifact-size", gitsrc.DefaultMaxStreamSize, artifacts.DefaultMaxSize)
	}
	if seen["max-artifact-size"] < 2 { // the agents' and bump's
		t.Errorf("--max-artifact-size on %d commands, want the agents' and bump's", seen["max-artifact-size"])
	}
}
