package appdir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"one\ntwo\nthree", 9, "three", true},     // "two\nthree" is 9: from the line start within
		{"one\ntwo\nthree\n", 7, "three\n", true}, // the newline ending the window is no line start
		{"abcdefghij", 4, "ghij", true},           // no line start within: the bytes as they are
		{"a\xffb", 10, "a?b", false},
		{"x\n\xe2\x82\xac", 2, "?", true}, // a rune cut: its remains made one "?"
	} {
		got, cut := Tail([]byte(tc.in), tc.n)
		if string(got) != tc.want || cut != tc.cut {
			t.Errorf("Tail(%q, %d) = %q, %v; want %q, %v", tc.in, tc.n, got, cut, tc.want, tc.cut)
		}
	}
}

func TestReadTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(strings.Repeat("x", i%7) + "line\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, n := range []int{1, 5, 100, 4096, 1 << 20} {
		got, cut := ReadTail(f, n)
		want, wantCut := Tail([]byte(b.String()), n)
		if string(got) != string(want) || cut != wantCut {
			t.Errorf("ReadTail(%d) = %q, %v; want Tail's %q, %v", n, got, cut, want, wantCut)
		}
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		k    int
		want []string
	}{
		{"", 5, nil},
		{"\n\n", 5, nil},
		{"a\nb\nc\n", 2, []string{"b", "c"}},
		{"a\nb", 5, []string{"a", "b"}},
		{"a\n\xff", 1, []string{"?"}},
	} {
		if got := LastLines(tc.in, tc.k); !slices.Equal(got, tc.want) {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tc.in, tc.k, got, tc.want)
		}
	}
}
