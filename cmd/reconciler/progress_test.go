package main

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
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

// TestProgressRate runs the ticks in fake time: a rate appears only once a
// download has been watched for minRateTime, and counts only the bytes
// since its first tick.
func TestProgressRate(t *testing.T) {
	const MiB = 1 << 20
	ticks := []struct {
		at    time.Duration // since the first tick
		name  string
		done  int64
		total int64
		want  string
	}{
		{0, "app", 1 * MiB, 100 * MiB, "app  1.0 MiB / 100.0 MiB\r"},
		{100 * time.Millisecond, "app", 2 * MiB, 100 * MiB, "app  2.0 MiB / 100.0 MiB\r"},
		{999 * time.Millisecond, "app", 4 * MiB, 100 * MiB, "app  4.0 MiB / 100.0 MiB\r"},
		{time.Second, "app", 5 * MiB, 100 * MiB, "app  5.0 MiB / 100.0 MiB  4.0 MiB/s  24s left\r"},
		// A retry starts over from byte 0, and so does the rate.
		{1500 * time.Millisecond, "app", MiB / 2, 100 * MiB, "app  0.5 MiB / 100.0 MiB\r"},
		{2500 * time.Millisecond, "app", 5 * MiB / 2, 100 * MiB, "app  2.5 MiB / 100.0 MiB  2.0 MiB/s  49s left\r"},
		{3 * time.Second, "app", 100 * MiB, 100 * MiB, "app  100.0 MiB / 100.0 MiB\n"},
		// Unknown size: a rate, no time left.
		{3 * time.Second, "cfg", 1 * MiB, -1, "cfg  1.0 MiB\r"},
		{4 * time.Second, "cfg", 3 * MiB, -1, "cfg  3.0 MiB  2.0 MiB/s\r"},
	}
	synctest.Test(t, func(t *testing.T) {
		var b strings.Builder
		p := newProgress(&b)
		start := time.Now()
		for _, tk := range ticks {
			time.Sleep(time.Until(start.Add(tk.at)))
			b.Reset()
			p.update(tk.name, tk.done, tk.total)
			if got, want := b.String(), "\r\033[K  "+tk.want; got != want {
				t.Errorf("at %v, %s %d of %d: got %q, want %q", tk.at, tk.name, tk.done, tk.total, got, want)
			}
		}
	})
}
