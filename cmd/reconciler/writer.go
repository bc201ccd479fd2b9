package main

import (
	"fmt"
	"strings"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// newWriter checks the settings of a command that commits to the deploy
// repo (promote, bump) and returns its source and the signer of
// --sign-key (nil without one).
func newWriter(cmd string, c *Config, signKey string) (*gitsrc.Source, gitsrc.Signer, error) {
	if strings.Contains(c.Path, "{hostname}") {
		return nil, nil, &usageError{msg: fmt.Sprintf("--path %q: %s writes one file; {hostname} is for agents", c.Path, cmd)}
	}
	if err := c.resolveSource(); err != nil {
		return nil, nil, err
	}
	var sign gitsrc.Signer
	if signKey != "" {
		var err error
		if sign, err = gitsrc.NewSigner(signKey); err != nil {
			return nil, nil, &usageError{msg: "--" + err.Error()}
		}
	}
	src, err := newSource(c, "") // a writer keeps no cache
	if err != nil {
		return nil, nil, err
	}
	return src, sign, nil
}
