package gitrev

import "testing"

func TestShort(t *testing.T) {
	for in, want := range map[string]string{
		"4f0c2a9e1b7d0000000000000000000000000000": "4f0c2a9e1b7d",
		"4f0c2a9e1b7d": "4f0c2a9e1b7d",
		"abc":          "abc",
		"":             "",
	} {
		if got := Short(in); got != want {
			t.Errorf("Short(%q) = %q, want %q", in, got, want)
		}
	}
}
