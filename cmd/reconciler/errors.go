package main

import (
	"errors"
	"strings"
)

func isExitError(err error) bool {
	var ee *exitError
	return errors.As(err, &ee)
}

// isUsageError recognises cobra's and pflag's messages about the command
// line itself.
func isUsageError(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "unknown command", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// usageError is a configuration mistake: exit code 2, like a bad flag.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
