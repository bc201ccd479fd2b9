package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/envfile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The settings of a command come from, first to last: its command line,
// the file of --env-file (or of --apps-dir DIR --app NAME), the
// environment, the defaults. The file is over the environment as in
// systemd, whose EnvironmentFile= overrides Environment=, and because a
// file named on the command line is part of it: a variable a shell still
// exports from earlier (RECONCILER_DIR of another app) must not send a
// command meant for the file's app elsewhere.

// envFileFlags are the flags that pick the file: never set from a file.
var envFileFlags = []string{"env-file", "app", "apps-dir"}

// addEnvFileFlag gives cmd --env-file.
func addEnvFileFlag(fs *pflag.FlagSet) {
	fs.String("env-file", "", "read RECONCILER_* settings from this file (systemd EnvironmentFile syntax, e.g. the unit's own): under the command line's flags, over the environment")
}

// addAppFlag gives cmd --app, which with --apps-dir reads that app's file.
func addAppFlag(fs *pflag.FlagSet) {
	fs.String("app", "", "with --apps-dir DIR: read the settings of the app NAME from DIR/NAME.env (as run --apps-dir does), instead of --env-file")
}

// flagValue is the value of the flag name of cmd: the command line's, else
// its variable's in the environment; "" when cmd has no such flag.
func flagValue(cmd *cobra.Command, name string) string {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return ""
	}
	if f.Changed {
		return f.Value.String()
	}
	return os.Getenv(envName(name))
}

// envFilePath is the file cmd reads its settings from, "" for none, and
// how to name it in errors.
func envFilePath(cmd *cobra.Command) (path, what string, err error) {
	file, app := flagValue(cmd, "env-file"), flagValue(cmd, "app")
	switch {
	case app != "" && file != "":
		return "", "", &usageError{msg: "--env-file and --app: give one (--app NAME reads NAME.env of --apps-dir)"}
	case app != "":
		dir := flagValue(cmd, "apps-dir")
		if dir == "" {
			return "", "", &usageError{msg: "--app " + app + ": give --apps-dir DIR too (the app's settings are DIR/" + app + ".env)"}
		}
		if strings.ContainsAny(app, "/") || app == "." || app == ".." {
			return "", "", &usageError{msg: fmt.Sprintf("--app %q: a name, as NAME of NAME.env", app)}
		}
		return filepath.Join(dir, app+".env"), "--apps-dir " + dir + " --app " + app, nil
	case file != "":
		return file, "--env-file", nil
	}
	return "", "", nil
}

// envFileSettings reads the RECONCILER_* settings of cmd's file (see
// envFilePath); other names are left for the environment they would be in
// under systemd. Every error is a usage error naming the file.
func envFileSettings(cmd *cobra.Command) ([]envfile.Var, error) {
	path, what, err := envFilePath(cmd)
	if err != nil || path == "" {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &usageError{msg: fmt.Sprintf("%s: %s does not exist", what, path)}
		}
		return nil, &usageError{msg: fmt.Sprintf("%s: %v", what, err)}
	}
	vars, err := envfile.Parse(path, data)
	if err != nil {
		return nil, asUsage(err)
	}
	return slices.DeleteFunc(vars, func(v envfile.Var) bool {
		return !strings.HasPrefix(v.Name, "RECONCILER_") || slices.ContainsFunc(envFileFlags, func(f string) bool { return envName(f) == v.Name })
	}), nil
}

// fileValues are the last value of each name of vars (the later wins, as
// in systemd) and the line it is on.
func fileValues(vars []envfile.Var) map[string]envfile.Var {
	m := make(map[string]envfile.Var, len(vars))
	for _, v := range vars {
		m[v.Name] = v
	}
	return m
}

// setFromFile sets the flag f of cmd from the file's v; a bad value is a
// usage error naming the file, line and setting.
func setFromFile(cmd *cobra.Command, f *pflag.Flag, v envfile.Var, path string) error {
	if err := cmd.Flags().Set(f.Name, v.Value); err != nil {
		return &usageError{msg: fmt.Sprintf("%s:%d: %s=%s: %v", path, v.Line, v.Name, v.Value, envCause(err))}
	}
	return nil
}

// takeFileToken gives c the RECONCILER_GIT_TOKEN of cmd's file, which no
// flag takes (gitToken), once bindEnv has read the file.
func (c *Config) takeFileToken(cmd *cobra.Command) {
	vars, err := envFileSettings(cmd)
	if err != nil {
		return
	}
	if v, ok := fileValues(vars)["RECONCILER_GIT_TOKEN"]; ok {
		token := v.Value
		c.appToken = &token
	}
}
