package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/selfupdate"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// bindEnv gives every flag not set on the command line the value of
// RECONCILER_<FLAG> (dashes become underscores) of the command's
// --env-file (or --apps-dir DIR --app NAME) file, else of the environment,
// as docs/reference.md promises; a bad value is reported as the file's
// line or the variable it came from. It first warns about every
// RECONCILER_* setting of both that nothing reads, which a typo would
// otherwise be.
func bindEnv(cmd *cobra.Command) error {
	vars, err := envFileSettings(cmd)
	if err != nil {
		return err
	}
	path, _, _ := envFilePath(cmd)
	environ := os.Environ()
	for _, v := range vars {
		environ = append(environ, v.Name+"="+v.Value)
	}
	warnUnknownEnv(cmd, environ)
	file := fileValues(vars)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		if v, ok := file[name]; ok {
			err = setFromFile(cmd, f, v, path)
			return
		}
		if v, ok := os.LookupEnv(name); ok {
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = &usageError{msg: fmt.Sprintf("%s=%s: %v", name, v, envCause(serr))}
			}
		}
	})
	return err
}

// envName is the variable that sets flag.
func envName(flag string) string {
	return "RECONCILER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envCause is why pflag refused a value, without its wording, which names
// the flag (--keep) the value did not come from.
func envCause(err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) && bad.Unwrap() != nil {
		return bad.Unwrap()
	}
	return err
}

// envOnly are the RECONCILER_* variables read other than through a flag:
// the HTTPS token (newEngine; a secret has no flag, only --git-token-file)
// the tests' marker for a re-executed test binary, the start's marker
// of an agent version it exec'd (agentdir.ChosenEnv), and the descriptors
// an agent hands its successor (selfupdate.HandoverEnv). A new os.Getenv of a
// RECONCILER_* name belongs here, or it is warned about as a typo.
var envOnly = []string{"RECONCILER_GIT_TOKEN", "RECONCILER_TEST_MAIN", agentdir.ChosenEnv, selfupdate.HandoverEnv}

// warnUnknownEnv writes one line to the command's stderr for each
// RECONCILER_* variable of environ that is no flag of any command and not in
// envOnly, naming the closest known variable when one is close. A flag of
// another command is no typo: one systemd env file serves them all.
func warnUnknownEnv(cmd *cobra.Command, environ []string) {
	known := knownEnv(cmd.Root())
	var typos []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RECONCILER_") && !slices.Contains(known, name) {
			typos = append(typos, name)
		}
	}
	slices.Sort(typos)
	for _, name := range slices.Compact(typos) { // in the file and the environment: once
		line := "reconciler: warning: ignoring " + name + ": no such setting"
		if near := closestEnv(name, known); near != "" {
			line += " (did you mean " + near + "?)"
		}
		fmt.Fprintln(cmd.ErrOrStderr(), line)
	}
}

// knownEnv returns, sorted, the variables of every flag of root and its
// subcommands, envOnly, and those a hook or health command is given (a
// reconciler it runs inherits them).
func knownEnv(root *cobra.Command) []string {
	known := slices.Concat(envOnly, appdir.EnvNames())
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			// cobra's --help and the root's --version, never bound (bump's
			// --version is its own)
			if f.Name != "help" && (f.Name != "version" || c.HasParent()) {
				known = append(known, envName(f.Name))
			}
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(known)
	return slices.Compact(known)
}

// closestEnv returns the known variable nearest to name: at most two edits
// away (RECONCILER_LOGFORMAT), or holding or held by it (RECONCILER_DIRECTORY
// for RECONCILER_DIR); "" when none is. known is sorted, so ties go to the
// first name.
func closestEnv(name string, known []string) string {
	word := strings.TrimPrefix(name, "RECONCILER_")
	best, bestDist := "", -1
	for _, k := range known {
		kw := strings.TrimPrefix(k, "RECONCILER_")
		d := editDistance(word, kw)
		shorter, longer := kw, word
		if len(shorter) > len(longer) {
			shorter, longer = longer, shorter
		}
		near := d <= 2 || (len(shorter) >= 3 && strings.Contains(longer, shorter))
		if near && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// bindRepoEnv is bindEnv for a command that reaches the deploy repo (sync,
// diff, run, promote, bump): the flags, then RECONCILER_GIT_TOKEN of the
// command's file, which no flag takes (gitToken).
func bindRepoEnv(cmd *cobra.Command, c *Config) error {
	if err := bindEnv(cmd); err != nil {
		return err
	}
	c.takeFileToken(cmd)
	return nil
}
