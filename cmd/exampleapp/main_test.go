package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// binaries built once by TestMain: exampleapp as version "1" and "2" (the
// naive control is measured by go run ./bench -only switch).
var bins struct {
	dir string
	err error
}

func binary(name, version string) string {
	return filepath.Join(bins.dir, name+"."+version)
}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "exampleapp-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.err = buildAll(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAll builds the apps in parallel, with -race when the tests run with
// it.
func buildAll(dir string) error {
	type build struct{ name, pkg, version string }
	builds := []build{{"app", ".", "1"}, {"app", ".", "2"}}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Go(func() {
			args := []string{"build", "-o", binary(b.name, b.version), "-ldflags", "-X main.version=" + b.version}
			if raceEnabled && b.name == "app" {
				args = append(args, "-race")
			}
			out, err := exec.Command("go", append(args, b.pkg)...).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("go build %s version %s: %w\n%s", b.pkg, b.version, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// needBinaries fails the test if TestMain could not build the apps.
func needBinaries(t *testing.T) {
	t.Helper()
	if bins.err != nil {
		t.Fatal(bins.err)
	}
}
