package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
)

// TestDemoOutsideAClone: the installed command carries no demo; outside a
// clone it says how to get one, as a usage error (exit 2), and runs
// nothing.
func TestDemoOutsideAClone(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "--fleet"}, &out, &out)
	if got := exitcode.Print("reconciler", err, &out); got != 2 {
		t.Fatalf("exit code %d, want 2 (%v)", got, err)
	}
	if !strings.Contains(out.String(), "go run ./cmd/demo") {
		t.Errorf("the error should say how to run the demo from a clone: %q", out.String())
	}
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Errorf("got %T, want a usage error", err)
	}
}

// TestFindClone finds this repository's root from a directory inside it.
func TestFindClone(t *testing.T) {
	t.Chdir("../../internal")
	root, err := findClone()
	if err != nil {
		t.Fatal(err)
	}
	if !declaresModule(root + "/go.mod") {
		t.Errorf("findClone returned %s, whose go.mod is not %s's", root, modulePath)
	}
}
