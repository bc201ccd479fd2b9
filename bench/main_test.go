package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// A failing group leaves a row saying what failed, and the groups before
// and after it keep theirs.
func TestRunGroupsKeepsRowsOfEveryGroup(t *testing.T) {
	tb := &table{}
	row := func(what string) func(context.Context) error {
		return func(context.Context) error { tb.add(what, "1", "–", "–", 0); return nil }
	}
	failed := runGroups(context.Background(), tb, io.Discard, "", []group{
		{"a", row("a row")},
		{"b", func(context.Context) error {
			tb.add("b row", "2", "–", "–", 0)
			return errors.New("git server child: EOF\nsecond line | with a pipe")
		}},
		{"c", row("c row")},
	})
	if got, want := strings.Join(failed, ","), "b"; got != want {
		t.Errorf("failed groups: got %q, want %q", got, want)
	}
	var out bytes.Buffer
	tb.print(&out)
	for _, want := range []string{"| a row |", "| b row |", "| b rows: FAILED | git server child: EOF second line \\| with a pipe |", "| c row |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
