// Package relversion is the one rule of a release's version string, as the
// deploy repo writes it: 1 to 64 of A-Z a-z 0-9 . _ + -, not starting with
// ".". Such a string is one plain path component (no "/", never "." or
// ".."), so that release/ and the agent's versions/ can name files and
// directories after it. reconcile (the desired file) and internal/agentdir
// (the agent's own releases) both check versions with it.
package relversion

import (
	"errors"
	"fmt"
	"regexp"
)

// RE matches a valid version.
var RE = regexp.MustCompile(`^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,63}$`)

// ErrInvalid marks a version refused by Check.
var ErrInvalid = errors.New("invalid version")

// Check refuses a version that breaks the rule; the error quotes it.
func Check(v string) error {
	if !RE.MatchString(v) {
		return fmt.Errorf(`%w: %q must be 1 to 64 of A-Z a-z 0-9 . _ + - and not start with "."`, ErrInvalid, v)
	}
	return nil
}
