package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPages: the hidden `reconciler man DIR` writes a page per command,
// with the flags of each, dated SOURCE_DATE_EPOCH, and lists no hidden one.
func TestManPages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // Nov 2023
	dir := filepath.Join(t.TempDir(), "man")
	if err := run(context.Background(), []string{"man", dir}, io.Discard, io.Discard); err != nil {
		t.Fatalf("reconciler man: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "reconciler-run.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`.TH "RECONCILER-RUN" "1" "Nov 2023"`, `\fB--repo\fP`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("reconciler-run.1 lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "reconciler-man.1")); err == nil {
		t.Errorf("the hidden man command has a page")
	}
	if strings.Contains(string(b), "Auto generated") {
		t.Errorf("reconciler-run.1 carries cobra's auto-generated tag (a date)")
	}
}
