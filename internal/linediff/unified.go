package linediff

import (
	"strconv"
	"strings"
)

// diffContext is the number of unchanged lines around a change, as in
// `diff -u` and `git diff`.
const diffContext = 3

// Unified renders old and new as `diff -u` does, hunk for hunk, under
// "---" and "+++" lines naming them; "" if they are equal. Operators read it
// next to their own `diff` and `git diff`, so it must not differ from them
// on the same files.
func Unified(oldName, newName string, old, new []byte) string {
	a, b := splitLines(old), splitLines(new)
	hunks := groupHunks(lineChanges(a, b), len(a), len(b))
	if len(hunks) == 0 {
		return ""
	}
	var out strings.Builder
	out.WriteString("--- " + oldName + "\n+++ " + newName + "\n")
	for _, h := range hunks {
		h.write(&out, a, b)
	}
	return out.String()
}

// splitLines cuts s after each newline. A last line without one is kept as
// is, so it differs from the same text with a newline, as in diff; an empty
// s has no lines at all (not one empty line).
func splitLines(s []byte) []string {
	lines := strings.SplitAfter(string(s), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// A change replaces the lines a[a0:a1] with b[b0:b1].
type change struct{ a0, a1, b0, b1 int }

// A hunk is a run of changes close enough to share their context lines,
// and the lines it shows of a and b, context included.
type hunk struct {
	changes      []change
	aStart, aEnd int
	bStart, bEnd int
}

// groupHunks puts changes at most two contexts apart into one hunk, as
// diff does, and adds up to diffContext unchanged lines around each hunk.
func groupHunks(cs []change, na, nb int) []hunk {
	var hunks []hunk
	for i, c := range cs {
		if i > 0 && c.a0-cs[i-1].a1 <= 2*diffContext {
			h := &hunks[len(hunks)-1]
			h.changes = append(h.changes, c)
			h.aEnd, h.bEnd = min(na, c.a1+diffContext), min(nb, c.b1+diffContext)
			continue
		}
		before := min(c.a0, diffContext) // unchanged lines: as many in b
		hunks = append(hunks, hunk{
			changes: []change{c},
			aStart:  c.a0 - before, aEnd: min(na, c.a1+diffContext),
			bStart: c.b0 - before, bEnd: min(nb, c.b1+diffContext),
		})
	}
	return hunks
}

func (h hunk) write(out *strings.Builder, a, b []string) {
	out.WriteString("@@ -" + hunkRange(h.aStart, h.aEnd) + " +" + hunkRange(h.bStart, h.bEnd) + " @@\n")
	at := h.aStart
	for _, c := range h.changes {
		writeLines(out, ' ', a[at:c.a0])
		writeLines(out, '-', a[c.a0:c.a1])
		writeLines(out, '+', b[c.b0:c.b1])
		at = c.a1
	}
	writeLines(out, ' ', a[at:h.aEnd])
}

// writeLines writes lines with a prefix; a last line without a newline
// gets diff's marker, so that a patch keeps it that way.
func writeLines(out *strings.Builder, prefix byte, lines []string) {
	for _, l := range lines {
		out.WriteByte(prefix)
		out.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange formats the lines [start, stop) (0-based) as a hunk header
// does: "first,count"; just "first" for one line; and for no lines the
// line before them, so that an empty file is "0,0".
func hunkRange(start, stop int) string {
	switch n := stop - start; n {
	case 1:
		return strconv.Itoa(start + 1)
	case 0:
		return strconv.Itoa(start) + ",0"
	default:
		return strconv.Itoa(start+1) + "," + strconv.Itoa(n)
	}
}
