package linediff

import (
	"slices"
	"strings"
	"testing"
)

// FuzzLineChanges: for any two texts the edit script turns the first into
// the second, and Unified says nothing exactly when they are equal.
func FuzzLineChanges(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n")
	f.Add("", "x\n")
	f.Add("a\nb", "a\nb\n")
	f.Add("x\ny\n", "y\nx\n")
	f.Fuzz(func(t *testing.T, old, new string) {
		a, b := splitLines([]byte(old)), splitLines([]byte(new))
		if got := apply(a, b, lineChanges(a, b)); !slices.Equal(got, b) {
			t.Fatalf("a=%q b=%q: changes give %q, want b", a, b, got)
		}
		u := Unified("old", "new", []byte(old), []byte(new))
		if (u == "") != (old == new) {
			t.Fatalf("old=%q new=%q: diff %q", old, new, u)
		}
		if u != "" && !strings.HasPrefix(u, "--- old\n+++ new\n@@ -") {
			t.Fatalf("old=%q new=%q: diff %q, want it to start with the names and a hunk", old, new, u)
		}
	})
}
