package main

import (
	"strings"
	"testing"
)

// TestPartsApart: a part importing reconcile or another part is refused;
// reconcile may import the parts, a subpackage its own part, and anything
// may import internal packages.
func TestPartsApart(t *testing.T) {
	for _, tc := range []struct {
		name string
		all  map[string][]string
		bad  string // "" for none
	}{
		{"the shape of main", map[string][]string{
			"reconcile": {"artifacts", "internal/fsx"}, "artifacts/oci": {"artifacts"}, "gitsrc": {"internal/redact"},
			"cmd/reconciler": {"reconcile", "gitsrc", "restart"},
		}, ""},
		{"gitsrc imports reconcile", map[string][]string{"gitsrc": {"reconcile"}}, "gitsrc imports reconcile"},
		{"restart imports artifacts", map[string][]string{"restart/graceful": {"artifacts/s3"}}, "restart/graceful imports artifacts/s3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := partsApart(tc.all)
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
				t.Errorf("got %v, want an error naming %q", err, tc.bad)
			}
		})
	}
}

// TestPicture: the graph holds the shipped packages' edges only, the list
// every package, marked when shipped.
func TestPicture(t *testing.T) {
	all := map[string][]string{"cmd/reconciler": {"reconcile"}, "reconcile": nil, "bench": {"reconcile"}}
	got := picture(all, map[string]bool{"cmd/reconciler": true, "reconcile": true})
	for _, want := range []string{"  cmd_reconciler --> reconcile\n", "* cmd/reconciler         reconcile\n", "  bench                  reconcile\n", "* reconcile\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("picture lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "bench -->") {
		t.Errorf("picture draws an edge of a package the command does not link:\n%s", got)
	}
}
