package hostid

import (
	"os"
	"testing"
)

func TestOr(t *testing.T) {
	if got, err := Or("web-017"); got != "web-017" || err != nil {
		t.Errorf("Or(web-017) = %q, %v; want web-017", got, err)
	}
	want, werr := os.Hostname()
	if got, err := Or(""); got != want || (err == nil) != (werr == nil) {
		t.Errorf("Or(\"\") = %q, %v; want the host name %q, %v", got, err, want, werr)
	}
}
