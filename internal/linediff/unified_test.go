package linediff

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A reference is a real diff program: `diff -u`, and git's, which CI
// (Go and git only) always has. Git's indent heuristic, on by default,
// places some ambiguous hunks by indentation, which diff does not.
type reference struct {
	name string
	args []string // the two file names are appended
}

var references = []reference{
	{"diff -u", []string{"diff", "-u"}},
	{"git diff", []string{"git", "diff", "--no-index", "--no-color", "--no-ext-diff", "--no-indent-heuristic", "-U3"}},
}

// installed returns the references on this machine, and skips t if none is.
func installed(t *testing.T) []reference {
	var refs []reference
	for _, r := range references {
		if _, err := exec.LookPath(r.args[0]); err == nil {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		t.Skip("neither diff nor git is installed")
	}
	return refs
}

// run runs the reference on old and new and returns its output.
func (r reference) run(t *testing.T, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	o, n := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	for name, data := range map[string]string{o: old, n: new} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(r.args[0], append(r.args[1:], o, n)...).Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("%s: %v", r.name, err)
	}
	return string(out)
}

// hunks drops what comes before the first hunk (the lines naming the
// files, their times, git's "diff --git" and "index" lines), and git's
// section heading after a hunk's "@@".
func hunks(diff string) string {
	if i := strings.Index(diff, "\n@@ "); i >= 0 {
		diff = diff[i+1:]
	} else if !strings.HasPrefix(diff, "@@ ") {
		return ""
	}
	lines := strings.SplitAfter(diff, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "@@ ") {
			if end := strings.Index(l[3:], " @@"); end >= 0 {
				lines[i] = l[:3+end+3] + "\n"
			}
		}
	}
	return strings.Join(lines, "")
}

// TestUnifiedMatchesDiffU compares the hunks with those of diff -u and of
// git diff on the same files.
func TestUnifiedMatchesDiffU(t *testing.T) {
	refs := installed(t)
	lines := func(s ...string) string { return strings.Join(s, "\n") + "\n" }
	ten := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	with := func(i int, s string) []string { l := append([]string(nil), ten...); l[i] = s; return l }
	tests := []struct{ name, old, new string }{
		{"one line", "level = info\n", "level = debug\n"},
		{"several lines, one changed", lines(ten...), lines(with(5, "F")...)},
		{"first line changed", lines(ten...), lines(with(0, "A")...)},
		{"last line changed", lines(ten...), lines(with(9, "J")...)},
		{"added file", "", "port = 8080\nlevel = debug\n"},
		{"emptied file", "port = 8080\nlevel = debug\n", ""},
		{"removed lines", lines(ten...), lines("a", "b", "c", "g", "h", "i", "j")},
		{"added lines", lines("a", "b"), lines("a", "x", "y", "b")},
		{"no newline at end in either", "a\nb\nc", "a\nb\nC"},
		{"no newline at end, unchanged last line", "a\nb\nc", "A\nb\nc"},
		{"newline added at end", "a\nb", "a\nb\n"},
		{"newline removed at end", "a\nb\n", "a\nb"},
		{"changes 6 lines apart share a hunk", lines(ten...), lines(append(with(1, "B")[:8], "I", "j")...)},
		{"changes 7 lines apart get two hunks", lines(ten...), lines(append(with(1, "B")[:9], "J")...)},
		{"swapped lines", lines("x", "y"), lines("y", "x")},
		{"block inserted next to a blank line", lines("k1", "k2", "", "k3"), lines("k1", "k2", "", "new", "", "k3")},
		{"replaced blank line", lines("k1", "", "k2", "k3", "", "k4"), lines("k1", "changed", "k2", "new", "", "k4")},
		{"equal", "a\n", "a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified("release/cfg.1.0", "release/cfg.2.0", []byte(tt.old), []byte(tt.new))
			for _, r := range refs {
				want := hunks(r.run(t, tt.old, tt.new))
				if want == "" && tt.old != tt.new {
					t.Fatalf("%s printed no hunk: the comparison would prove nothing", r.name)
				}
				if hunks(got) != want {
					t.Errorf("hunks: got\n%s\nwant (%s)\n%s", hunks(got), r.name, want)
				}
			}
			if wantHead := "--- release/cfg.1.0\n+++ release/cfg.2.0\n@@ "; tt.old != tt.new && !strings.HasPrefix(got, wantHead) {
				t.Errorf("header: got\n%s\nwant it to start with\n%s", got, wantHead)
			}
			if tt.old == tt.new && got != "" {
				t.Errorf("equal files: got\n%s\nwant no diff", got)
			}
		})
	}
}

// TestUnifiedOfNewFile: a file that did not exist is diffed from
// /dev/null, as diff -N does.
func TestUnifiedOfNewFile(t *testing.T) {
	r := installed(t)[0]
	cfg := "port = 8080\nlevel = debug\n"
	got := Unified("/dev/null", "release/cfg.2.0", nil, []byte(cfg))
	want := "--- /dev/null\n+++ release/cfg.2.0\n" + hunks(r.run(t, "", cfg))
	if got != want {
		t.Errorf("got\n%s\nwant (%s)\n%s", got, r.name, want)
	}
	if !strings.Contains(got, "@@ -0,0 +1,2 @@\n") {
		t.Errorf("got\n%s\nwant the hunk @@ -0,0 +1,2 @@", got)
	}
}
