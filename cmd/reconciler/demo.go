package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/spf13/cobra"
)

// modulePath is this repository's Go module: a clone is a directory whose
// go.mod declares it.
const modulePath = "github.com/reconciler-dev/reconciler"

// newDemoCmd is `reconciler demo`: the demonstration lives in the source
// tree (cmd/demo: it builds the example app and this command with Go), so
// the installed command carries none of it; from a clone, it hands over to
// `go run ./cmd/demo`, with the same arguments.
func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "demo [--fleet] [-v] [--workdir DIR]",
		Short: "Run the whole story on this machine (from a clone of the source: go run ./cmd/demo)",
		Long: `demo runs the demonstration of cmd/demo in the source tree: diff, deploy,
bump, revert and a broken release under load, or with --fleet a staged
rollout across five agents moved on by promote. It needs Go and git, and
a clone of the source (it builds the example app and reconciler itself),
so the installed command does not carry it: run from a clone, this hands
over to "go run ./cmd/demo" with the same arguments; elsewhere it says
how to get one (exit 2).

The demo: two versions of the example app served from a local artifact
server, a deploy repo made from deploy-repo-example/, the real agent
(reconciler run, a child process, --health-bake 2s) and a load loop on the
app; a bump shown by reconciler diff, merged, reverted; a broken release
switched back by the agent itself. Exit 0 only if every step worked and no
request failed.

Flags (cmd/demo's):
  --fleet          a staged rollout across five agents, moved on by promote
                   from a real Prometheus (by hand from /status without one)
  -v, --verbose    show the agents' logs
  --workdir DIR    where to build the demo (default: a new temporary directory)`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := findClone()
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			goCmd := exec.CommandContext(cmd.Context(), "go", append([]string{"run", "./cmd/demo"}, args...)...)
			goCmd.Dir, goCmd.Stdin, goCmd.Stdout, goCmd.Stderr = root, os.Stdin, stdout, stderr
			err = goCmd.Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return &exitcode.Error{Code: ee.ExitCode()} // the demo said why
			}
			return err
		},
	}
}

// findClone finds the root of a clone of this repository, from the
// working directory upwards.
func findClone() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			if _, err := os.Stat(filepath.Join(dir, "cmd", "demo")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("the demo runs from a clone of the source (it builds the example app and reconciler with Go): git clone the repository, cd into it, and run go run ./cmd/demo")
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod at p declares modulePath.
func declaresModule(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == modulePath
		}
	}
	return false
}
