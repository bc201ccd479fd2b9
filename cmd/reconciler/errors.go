package main

import (
	"errors"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/spf13/cobra"
)

// usageError is a mistake in how the command was called: an unknown
// command or flag, a bad flag value, a setting that cannot work, a
// directory that is not an app directory. It exits 2 (exitCodeOf), like
// a bad flag. It is made where the mistake is found; no message is ever
// searched for words.
type usageError struct {
	msg string
	err error // the cause, when the mistake was reported by another part
}

func (e *usageError) Error() string {
	if e.msg == "" && e.err != nil {
		return e.err.Error()
	}
	return e.msg
}

func (e *usageError) Unwrap() error { return e.err }

// asUsage marks err, if any, as a usage error.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err: err}
}

// usageExit gives the errors of a command run their exit code by kind: an
// exitcode.Error keeps its own, a usage error (ours, cobra's flag and
// argument errors as marked by markUsageErrors, a directory that is not an
// app directory as openDir and watch mark it) gets 2, anything else is left
// to exitcode.Print (1).
func usageExit(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitcode.Error
	if errors.As(err, &ee) {
		return err
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return &exitcode.Error{Code: 2, Err: err}
	}
	return err
}

// markUsageErrors makes cobra's own errors about the command line usage
// errors where cobra makes them: the flag parser's (unknown flag, missing
// or bad value) through the flag-error hook, and the argument checks of
// every command (an unknown command, an extra argument), cobra's help and
// completion commands included.
func markUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return asUsage(err) })
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	// The root's own check (cobra's legacyArgs, run inside its Find, where
	// nothing can mark it) becomes an Args of the root: an unknown command.
	// Cobra checks the arguments of a runnable command only, so the root
	// runs: alone, it prints its help, as cobra does.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		return &usageError{msg: unknownCommand(cmd, args[0])}
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	var wrap func(*cobra.Command)
	wrap = func(cmd *cobra.Command) {
		if check := cmd.Args; check != nil {
			cmd.Args = func(cmd *cobra.Command, args []string) error { return asUsage(check(cmd, args)) }
		}
		for _, sub := range cmd.Commands() {
			wrap(sub)
		}
	}
	for _, sub := range root.Commands() {
		wrap(sub)
	}
}

// unknownCommand is cobra's message for an unknown command, with its
// suggestions.
func unknownCommand(root *cobra.Command, name string) string {
	msg := "unknown command \"" + name + "\" for \"" + root.CommandPath() + "\""
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n"
		for _, x := range s {
			msg += "\t" + x + "\n"
		}
	}
	return msg
}
