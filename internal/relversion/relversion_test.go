package relversion

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, v := range []string{"1", "1.2.3", "v2+build.7", "_x", "-rc", strings.Repeat("a", 64)} {
		if err := Check(v); err != nil {
			t.Errorf("Check(%q): got %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", ".", "..", ".hidden", "a/b", "../x", "a\\b", "a b", "a\x00", "é", strings.Repeat("a", 65)} {
		if err := Check(v); !errors.Is(err, ErrInvalid) {
			t.Errorf("Check(%q): got %v, want ErrInvalid", v, err)
		}
	}
}
