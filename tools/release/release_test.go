package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// makeRelease runs the tool as the README says, for this machine's arch.
func makeRelease(t *testing.T, version, epoch string) string {
	t.Helper()
	out := t.TempDir()
	var stdout bytes.Buffer
	getenv := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return epoch
		}
		return ""
	}
	args := []string{"-version", version, "-arch", runtime.GOARCH, "-src", "../..", "-out", out}
	if err := run(context.Background(), args, &stdout, getenv); err != nil {
		t.Fatalf("release %v: %v", args, err)
	}
	return out
}

// TestRelease: two builds of one commit at one SOURCE_DATE_EPOCH are byte
// for byte the same, the files are the ones SPEC.md names, and the tarball
// holds the stamped, stripped binary (one test: every build costs a link
// and three gzips of 20 MB).
func TestRelease(t *testing.T) {
	a := makeRelease(t, "1.2.3", "1700000000")
	b := makeRelease(t, "1.2.3", "1700000000")
	arch := runtime.GOARCH
	want := []string{
		"SHA256SUMS",
		"reconciler-1.2.3-1." + rpmArch(arch) + ".rpm",
		"reconciler_1.2.3_" + arch + ".deb",
		"reconciler_1.2.3_linux_" + arch + ".tar.gz",
	}
	names, err := filepath.Glob(filepath.Join(a, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, filepath.Base(n))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files: got %q, want %q", got, want)
	}
	for _, name := range want {
		x, errA := os.ReadFile(filepath.Join(a, name))
		y, errB := os.ReadFile(filepath.Join(b, name))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s: two builds differ", name)
		}
	}
	checkTarball(t, a)
}

// checkTarball: the tarball of out holds the binary, stamped with the
// version and commit, the units and the pages, all dated SOURCE_DATE_EPOCH.
func checkTarball(t *testing.T, out string) {
	t.Helper()
	top := "reconciler_1.2.3_linux_" + runtime.GOARCH
	files := readTarball(t, filepath.Join(out, top+".tar.gz"))
	for _, name := range []string{"reconciler", "LICENSE", "README.md", "CHANGELOG.md",
		"usr/lib/systemd/system/reconciler-apps.service", "usr/lib/systemd/system/reconciler@.service",
		"usr/share/man/man1/reconciler-run.1.gz", "etc/reconciler/example.env"} {
		if _, ok := files[top+"/"+name]; !ok {
			t.Errorf("tarball lacks %s", name)
		}
	}
	bin := filepath.Join(t.TempDir(), "reconciler")
	if err := os.WriteFile(bin, files[top+"/reconciler"], 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("reconciler version: %v", err)
	}
	commit, err := gitOutput(context.Background(), "../..", "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if want := "reconciler 1.2.3 commit " + commit + " "; !strings.HasPrefix(string(v), want) {
		t.Errorf("version: got %q, want it to start with %q", v, want)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, s := range []string{"-trimpath=true", "CGO_ENABLED=0"} {
		if !strings.Contains(string(info), s) {
			t.Errorf("go version -m: no %s in\n%s", s, info)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Section(".symtab") != nil {
		t.Errorf("the binary has a symbol table: not stripped")
	}
}

func readTarball(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header: time %v, name %q; want neither", zr.ModTime, zr.Name)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 1700000000 || h.Uid != 0 || h.Uname != "root" {
			t.Errorf("%s: mtime %v uid %d uname %q; want SOURCE_DATE_EPOCH, root", h.Name, h.ModTime, h.Uid, h.Uname)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

// TestExampleEnvSetsNothing: the packaged example configuration is the
// documented one with every setting commented out.
func TestExampleEnvSetsNothing(t *testing.T) {
	b, err := exampleEnv("../../docs/systemd/web.env")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("example.env sets %q", line)
		}
	}
	if !strings.Contains(string(b), "#RECONCILER_REPO=") {
		t.Errorf("example.env lacks the commented RECONCILER_REPO:\n%s", b)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-version", "1", "extra"}, {"-version", "1", "-src", "/nonexistent"}} {
		if err := run(context.Background(), args, io.Discard, func(string) string { return "" }); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
	err := run(context.Background(), []string{"-version", "1", "-src", "../.."}, io.Discard,
		func(string) string { return "yesterday" })
	if err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("a bad SOURCE_DATE_EPOCH: got %v, want an error naming it", err)
	}
}
