package linediff

// lineChanges returns a shortest edit script from a to b, in order (for
// edits of up to 2*maxSplitCost lines). Among the many equally short ones
// it picks the one GNU diff picks, so that the hunks read the same: lines
// found in only one file are set aside (they are changed anyway), Myers'
// algorithm compares the rest, and each run of changed lines is then slid
// as diff slides it.
func lineChanges(a, b []string) []change {
	del, ins := make([]bool, len(a)), make([]bool, len(b))
	ka, kb := shared(a, b, del), shared(b, a, ins)
	s := newEditScript(pick(a, ka), pick(b, kb), maxSplitCost)
	for i, k := range ka {
		del[k] = s.del[i]
	}
	for j, k := range kb {
		ins[k] = s.ins[j]
	}
	slide(a, del, ins)
	slide(b, ins, del)
	return runs(del, ins)
}

// shared returns the indexes of the lines of x that occur in y, and marks
// the others changed.
func shared(x, y []string, changed []bool) []int {
	inY := make(map[string]bool, len(y))
	for _, l := range y {
		inY[l] = true
	}
	var idx []int
	for i, l := range x {
		if inY[l] {
			idx = append(idx, i)
		} else {
			changed[i] = true
		}
	}
	return idx
}

func pick(x []string, idx []int) []string {
	p := make([]string, len(idx))
	for i, k := range idx {
		p[i] = x[k]
	}
	return p
}

// runs turns the marks into changes: each run of deleted lines with the run
// of inserted lines at the same place.
func runs(del, ins []bool) []change {
	var cs []change
	for i, j := 0, 0; i < len(del) || j < len(ins); {
		if i < len(del) && j < len(ins) && !del[i] && !ins[j] {
			i, j = i+1, j+1
			continue
		}
		c := change{a0: i, b0: j}
		for i < len(del) && del[i] {
			i++
		}
		for j < len(ins) && ins[j] {
			j++
		}
		c.a1, c.b1 = i, j
		cs = append(cs, c)
	}
	return cs
}

// editScript marks the lines of a deleted and those of b inserted.
type editScript struct {
	a, b     []string
	del, ins []bool
	maxCost  int // see maxSplitCost
}

func newEditScript(a, b []string, maxCost int) *editScript {
	s := &editScript{a: a, b: b, del: make([]bool, len(a)), ins: make([]bool, len(b)), maxCost: maxCost}
	s.compare(0, len(a), 0, len(b))
	return s
}

// compare marks an edit from a[a0:a1] to b[b0:b1], by Myers' linear space
// divide and conquer (1986, section 4b): split at the middle of a shortest
// path, compare both halves.
func (s *editScript) compare(a0, a1, b0, b1 int) {
	for a0 < a1 && b0 < b1 && s.a[a0] == s.b[b0] {
		a0, b0 = a0+1, b0+1
	}
	for a0 < a1 && b0 < b1 && s.a[a1-1] == s.b[b1-1] {
		a1, b1 = a1-1, b1-1
	}
	x, y, ok := 0, 0, a0 < a1 && b0 < b1
	if ok {
		x, y, ok = newSnakeSearch(s.a[a0:a1], s.b[b0:b1]).middle(s.maxCost)
	}
	if !ok { // one side is empty (or, never seen, no split was found)
		mark(s.del[a0:a1])
		mark(s.ins[b0:b1])
		return
	}
	s.compare(a0, a0+x, b0, b0+y)
	s.compare(a0+x, a1, b0+y, b1)
}

func mark(changed []bool) {
	for i := range changed {
		changed[i] = true
	}
}

// snakeSearch looks for a point on a shortest edit path from the top left
// corner of the edit graph of a and b to its bottom right one, about half
// its edits from each, by searching from both corners at once, one more
// edit at a time. fwd holds, for each diagonal k = x-y (at index k+off),
// the furthest x reached from the top left; bwd the least x reached from
// the bottom right. As in the paper, a value may leave the graph at its
// edges; such a point is never taken as the middle.
type snakeSearch struct {
	a, b     []string
	fwd, bwd []int
	off      int
	far      [2]int // the point furthest from the top left reached forward
}

func newSnakeSearch(a, b []string) *snakeSearch {
	n, m := len(a), len(b)
	s := &snakeSearch{a: a, b: b, fwd: make([]int, n+m+3), bwd: make([]int, n+m+3), off: m + 1}
	s.fwd[s.off+1] = 0 // so that the first step starts at x = 0 on diagonal 0
	s.bwd[s.off+n-m-1] = n
	return s
}

// maxSplitCost bounds the edits each search looks ahead from each corner:
// a search that finds no shortest path within it settles for the point
// furthest from the top left corner, a good split but not always the best.
// Edits of up to twice as many lines are still shortest. Without it, two
// unrelated 120 KB files of 60,000 lines drawn from 20 distinct ones took
// 53 s, with it 2 s. GNU diff does the same, at 4096.
const maxSplitCost = 1024

// middle returns the point, relative to the top left corner, or !ok if it
// found no point that makes both halves smaller (never seen: the caller
// has trimmed equal first and last lines).
func (s *snakeSearch) middle(maxCost int) (x, y int, ok bool) {
	for e := 0; e <= min(maxCost, len(s.a)+len(s.b)); e++ {
		if x, y, ok = s.forward(e); ok {
			return x, y, true
		}
		if x, y, ok = s.backward(e); ok {
			return x, y, true
		}
	}
	return s.far[0], s.far[1], s.inside(s.far[0], s.far[1])
}

// forward extends the paths from the top left to e edits, and reports where
// one meets a path from the bottom right. Diagonals are taken from the
// highest down and a tie goes to a deletion, as in GNU diff: both decide
// between equally short scripts.
func (s *snakeSearch) forward(e int) (x, y int, ok bool) {
	n, m := len(s.a), len(s.b)
	delta := n - m
	for k := e; k >= -e; k -= 2 {
		if k < -m || k > n {
			continue
		}
		if k == -e || k != e && s.fwd[s.off+k-1] < s.fwd[s.off+k+1] {
			x = s.fwd[s.off+k+1] // down: insert a line of b
		} else {
			x = s.fwd[s.off+k-1] + 1 // right: delete a line of a
		}
		y = x - k
		for x < n && y < m && s.a[x] == s.b[y] {
			x, y = x+1, y+1
		}
		s.fwd[s.off+k] = x
		if x+y > s.far[0]+s.far[1] && s.inside(x, y) {
			s.far = [2]int{x, y}
		}
		if delta%2 != 0 && k >= delta-(e-1) && k <= delta+(e-1) && x >= s.bwd[s.off+k] && s.inside(x, y) {
			return x, y, true
		}
	}
	return 0, 0, false
}

// backward is forward from the bottom right corner, on diagonals around
// n-m.
func (s *snakeSearch) backward(e int) (x, y int, ok bool) {
	n, m := len(s.a), len(s.b)
	delta := n - m
	for d := e; d >= -e; d -= 2 {
		k := d + delta
		if k < -m || k > n {
			continue
		}
		if d == e || d != -e && s.bwd[s.off+k-1] < s.bwd[s.off+k+1] {
			x = s.bwd[s.off+k-1] // up: insert a line of b
		} else {
			x = s.bwd[s.off+k+1] - 1 // left: delete a line of a
		}
		y = x - k
		for x > 0 && y > 0 && s.a[x-1] == s.b[y-1] {
			x, y = x-1, y-1
		}
		s.bwd[s.off+k] = x
		if delta%2 == 0 && k >= -e && k <= e && x <= s.fwd[s.off+k] && s.inside(x, y) {
			return x, y, true
		}
	}
	return 0, 0, false
}

// inside reports whether (x, y) splits the graph into two smaller ones.
func (s *snakeSearch) inside(x, y int) bool {
	n, m := len(s.a), len(s.b)
	return x >= 0 && y >= 0 && x <= n && y <= m && (x+y > 0) && (x+y < n+m)
}

// slide moves each run of changed lines of x to where diff shows it, among
// the places where the edit is as short: as far up, then as far down as it
// goes, merging with the runs it meets, then back up to the lowest place
// where it lines up with a run of changes in the other file, so that a
// replaced line shows as "-old" right next to "+new".
func slide(x []string, changed, other []bool) {
	s := slider{x: x, changed: changed, other: other}
	for j, c := range other {
		if !c {
			s.keptOther = append(s.keptOther, j)
		}
	}
	kept := 0 // unchanged lines of x before i
	for i := 0; i < len(x); {
		if changed[i] {
			i, kept = s.run(i, kept)
		} else {
			i, kept = i+1, kept+1
		}
	}
}

type slider struct {
	x              []string
	changed, other []bool
	keptOther      []int // indexes of the unchanged lines of the other file
}

// run slides the run of changes that starts at start, after kept unchanged
// lines, and returns where it ends and the unchanged lines before that.
func (s *slider) run(start, kept int) (int, int) {
	end := s.runEnd(start)
	for {
		n := end - start
		for start > 0 && s.x[start-1] == s.x[end-1] {
			start, end, kept = start-1, end-1, kept-1
			s.changed[start], s.changed[end] = true, false
			for start > 0 && s.changed[start-1] {
				start--
			}
		}
		lined := -1
		if s.linedUp(kept) {
			lined = end
		}
		for end < len(s.x) && s.x[start] == s.x[end] {
			s.changed[start], s.changed[end] = false, true
			start, end, kept = start+1, end+1, kept+1
			end = s.runEnd(end)
			if s.linedUp(kept) {
				lined = end
			}
		}
		if end-start == n { // nothing merged: settled
			for ; lined >= 0 && end > lined; start, end, kept = start-1, end-1, kept-1 {
				s.changed[start-1], s.changed[end-1] = true, false
			}
			return end, kept
		}
	}
}

func (s *slider) runEnd(i int) int {
	for i < len(s.x) && s.changed[i] {
		i++
	}
	return i
}

// linedUp reports whether a run of changes in the other file ends where a
// run of x followed by kept unchanged lines ends.
func (s *slider) linedUp(kept int) bool {
	p := len(s.other)
	if kept < len(s.keptOther) {
		p = s.keptOther[kept]
	}
	return p > 0 && s.other[p-1]
}
