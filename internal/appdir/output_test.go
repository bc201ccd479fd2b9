package appdir

import "testing"

func TestSplitOutput(t *testing.T) {
	for _, tc := range []struct {
		name, msg, summary, output string
	}{
		{"no output", "digest mismatch", "digest mismatch", ""},
		{"quoted in the middle",
			"release app.2 did not come up: exited" + QuoteOutput("last lines of app.log", []string{"listening", "panic: boom"}) + "; switched back",
			"release app.2 did not come up: exited; last lines of app.log: (see detail); switched back", "listening\npanic: boom"},
		{"quoted at the end", "pre-switch hook: exit status 1" + QuoteOutput("its last output", []string{"a", "  indented b"}),
			"pre-switch hook: exit status 1; its last output: (see detail)", "a\n  indented b"},
		{"a line with a newline stays one line", "x" + QuoteOutput("out", []string{"a\nb\r"}), "x; out: (see detail)", "a b "},
		{"two blocks", "a" + QuoteOutput("one", []string{"1"}) + " b" + QuoteOutput("two", []string{"2"}),
			"a; one: (see detail) b; two: (see detail)", "1\n2"},
		{"an unterminated quoted line", "x; out:\n  last", "x; out: (see detail)", "last"},
		{"other newlines become spaces", "line one\nline two", "line one line two", ""},
		{"nothing quoted", "x" + QuoteOutput("out", nil), "x", ""},
	} {
		summary, output := SplitOutput(tc.msg)
		if summary != tc.summary || output != tc.output {
			t.Errorf("%s: got %q, %q; want %q, %q", tc.name, summary, output, tc.summary, tc.output)
		}
	}
}
