package linediff

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// lcs is the length of a longest common subsequence of a and b.
func lcs(a, b []string) int {
	next, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				cur[j] = next[j+1] + 1
			} else {
				cur[j] = max(next[j], cur[j+1])
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// apply applies cs to a.
func apply(a, b []string, cs []change) []string {
	var out []string
	at := 0
	for _, c := range cs {
		out = append(append(out, a[at:c.a0]...), b[c.b0:c.b1]...)
		at = c.a1
	}
	return append(out, a[at:]...)
}

func edits(cs []change) int {
	n := 0
	for _, c := range cs {
		n += c.a1 - c.a0 + c.b1 - c.b0
	}
	return n
}

// randomLines draws texts from small alphabets: many equal lines, the
// hard case for a diff.
func randomLines(r *rand.Rand) []string {
	s := make([]string, r.IntN(1+r.IntN(40)))
	k := 1 + r.IntN(4)
	for i := range s {
		s[i] = string(rune('a' + r.IntN(k)))
	}
	return s
}

// TestLineChangesIsShortest checks that the changes turn a into b and that
// no shorter edit exists.
func TestLineChangesIsShortest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		a, b := randomLines(r), randomLines(r)
		cs := lineChanges(a, b)
		if got := apply(a, b, cs); !slices.Equal(got, b) {
			t.Fatalf("a=%q b=%q: changes give %q, want b", a, b, got)
		}
		if got, want := edits(cs), len(a)+len(b)-2*lcs(a, b); got != want {
			t.Fatalf("a=%q b=%q: got %d lines changed, want %d (shortest)", a, b, got, want)
		}
	}
}

// TestEditScriptCutShortIsStillAnEdit: when maxSplitCost cuts a search
// short, the edit is longer but must still turn a into b.
func TestEditScriptCutShortIsStillAnEdit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	longer := 0
	for range 5000 {
		a, b := randomLines(r), randomLines(r)
		s := newEditScript(a, b, 1)
		cs := runs(s.del, s.ins)
		if got := apply(a, b, cs); !slices.Equal(got, b) {
			t.Fatalf("a=%q b=%q: changes give %q, want b", a, b, got)
		}
		if edits(cs) > len(a)+len(b)-2*lcs(a, b) {
			longer++
		}
	}
	if longer == 0 {
		t.Error("no edit was longer than the shortest: the cost bound was never reached, so this tested nothing")
	}
}
