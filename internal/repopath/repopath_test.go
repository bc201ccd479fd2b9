package repopath

import "testing"

// TestOneRule: the cases where the two former copies of this rule
// disagreed now get one answer; Check and CheckClean differ only by the
// clean form.
func TestOneRule(t *testing.T) {
	for _, tc := range []struct {
		p            string
		check, clean bool // accepted by Check, by CheckClean
	}{
		{"web/cfg.json", true, true},
		{"./web/cfg.json", true, false},
		{"web//x", true, false},
		{"web/x/", true, false},
		{"web/\x01x", false, false},
		{"web/\x7fx", false, false},
		{"../x", false, false},
		{"a/../b", false, false},
		{"/etc/passwd", false, false},
		{`a\b`, false, false},
		{"", false, false},
		{".", false, false},
		{"./", false, false},
		{"\xff", false, false},
	} {
		if got := Check(tc.p) == nil; got != tc.check {
			t.Errorf("Check(%q) accepted=%v, want %v", tc.p, got, tc.check)
		}
		if got := CheckClean(tc.p) == nil; got != tc.clean {
			t.Errorf("CheckClean(%q) accepted=%v, want %v", tc.p, got, tc.clean)
		}
	}
}
