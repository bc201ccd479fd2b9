package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommands keeps the README true to the CLI: every reconciler
// command line it shows (in code blocks and inline code) names a command
// that exists and only flags that command accepts.
func TestREADMECommands(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := readmeCommandLines(string(data))
	if len(lines) < 15 {
		t.Fatalf("found %d reconciler command lines in README.md, want the README's examples", len(lines))
	}
	root := newRootCmd(io.Discard, io.Discard)
	root.InitDefaultCompletionCmd() // cobra adds it when a command runs
	for _, line := range lines {
		args := strings.Fields(line)[1:]
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("README: %q: no such command", line)
			continue
		}
		if cmd.DisableFlagParsing {
			continue // demo: its flags are cmd/demo's, which it hands them to
		}
		for _, a := range rest {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !strings.HasPrefix(a, "--") || name == "" {
				continue
			}
			if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
				t.Errorf("README: %q: %s has no flag --%s", line, cmd.Name(), name)
			}
		}
	}
}

var inlineCode = regexp.MustCompile("`(reconciler [^`]+)`")

// readmeCommandLines returns the reconciler command lines of a markdown
// text: inline code spans and lines of code blocks (joined across
// backslash continuations), cut at "|", "&&", ">" and "#".
func readmeCommandLines(md string) []string {
	var out []string
	add := func(s string) {
		for _, sep := range []string{"|", " &&", " >", " #", "…"} {
			s, _, _ = strings.Cut(s, sep)
		}
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "reconciler ") && !strings.Contains(s, "reconciler <") {
			out = append(out, s)
		}
	}
	inFence := false
	for _, l := range strings.Split(strings.ReplaceAll(md, "\\\n", " "), "\n") {
		switch {
		case strings.HasPrefix(l, "```"):
			inFence = !inFence
		case inFence:
			add(l)
		default:
			for _, m := range inlineCode.FindAllStringSubmatch(l, -1) {
				add(m[1])
			}
		}
	}
	return out
}
