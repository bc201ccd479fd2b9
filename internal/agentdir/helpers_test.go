package agentdir

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// openDir opens a fresh agent dir under t.TempDir.
func openDir(t *testing.T) *Dir {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "agent"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// script is an executable that this machine runs (a #! script).
func script(body string) []byte { return []byte("#!/bin/sh\n" + body + "\n") }

// install installs data as version v and returns its path.
func install(t *testing.T, d *Dir, v string, data []byte) string {
	t.Helper()
	path, err := d.Install(t.Context(), v, strings.NewReader(string(data)), sum(data))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// confirmed installs and confirms each version, in order.
func confirmed(t *testing.T, d *Dir, versions ...string) {
	t.Helper()
	for _, v := range versions {
		install(t, d, v, script("echo "+v))
		if err := d.Confirm(v); err != nil {
			t.Fatal(err)
		}
	}
}

// tree lists every file and directory under root (relative), for
// "nothing half-written" checks.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func record(t *testing.T, d *Dir) Record {
	t.Helper()
	r, err := d.Record()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func confirmedVersions(t *testing.T, d *Dir) []string {
	t.Helper()
	var vs []string
	for _, c := range record(t, d).Confirmed {
		vs = append(vs, c.Version)
	}
	return vs
}

func mustExist(t *testing.T, path string, want bool) {
	t.Helper()
	_, err := os.Stat(path)
	if got := err == nil; got != want {
		t.Errorf("%s exists: got %v, want %v", path, got, want)
	}
}
