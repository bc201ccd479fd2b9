package main

import (
	"strings"
	"testing"
)

func TestProgressLine(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b)
	p.update("app.2.0", 1<<20, 4<<20)
	p.update("app.2.0", 4<<20, 4<<20)
	out := b.String()
	for _, want := range []string{"app.2.0", "1.0 MiB / 4.0 MiB", "4.0 MiB / 4.0 MiB\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("got %q, want it to contain %q", out, want)
		}
	}
}
