package exitcode

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPrint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, 0, ""},
		{errors.New("boom"), 1, "prog: boom\n"},
		{&Error{Code: 3}, 3, ""},
		{fmt.Errorf("wrapped: %w", &Error{Code: 2, Err: errors.New("bad flag")}), 2, "prog: bad flag\n"},
	} {
		var b strings.Builder
		if code := Print("prog", tc.err, &b); code != tc.code || b.String() != tc.out {
			t.Errorf("Print(%v) = %d, %q; want %d, %q", tc.err, code, b.String(), tc.code, tc.out)
		}
	}
	if got := (&Error{Code: 4}).Error(); got != "exit status 4" {
		t.Errorf("Error() = %q", got)
	}
}
