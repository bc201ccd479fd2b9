package main

import (
	"fmt"
	"os"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/cobra"
)

// openDir is the start of the commands that act on an existing app
// directory (status, suspend, resume, retry): it binds the environment,
// checks --dir and refuses a directory that is not an app directory, so a
// mistyped --dir creates nothing.
func openDir(cmd *cobra.Command, c *Config) (reconcile.Layout, error) {
	if err := bindEnv(cmd); err != nil {
		return reconcile.Layout{}, err
	}
	if err := c.validateDir(); err != nil {
		return reconcile.Layout{}, err
	}
	layout, err := reconcile.NewLayout(c.Dir)
	if err != nil {
		return layout, err
	}
	if err := layout.CheckAppDir(); err != nil {
		return layout, asUsage(err) // exit 2: a mistyped --dir
	}
	return layout, nil
}

// lockDir creates the app directory if needed and takes its lock: one
// reconciler per directory. The caller unlocks.
func lockDir(dir string) (reconcile.Layout, *reconcile.Lock, error) {
	layout, err := reconcile.NewLayout(dir)
	if err != nil {
		return layout, nil, err
	}
	if err := os.MkdirAll(layout.Dir, 0o755); err != nil {
		return layout, nil, fmt.Errorf("create %s: %w", layout.Dir, err)
	}
	lock, err := layout.Lock()
	return layout, lock, err
}

// hideFlags leaves flags out of a command's --help: they are accepted (an
// environment file shared by every command sets them) but do nothing there.
func hideFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.Flags().MarkHidden(n) // only fails for a name not defined
	}
}
