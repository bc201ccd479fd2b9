package agecfg

import (
	"fmt"
	"os"
)

// Check returns a warning, "" when none, about an identity file that others
// than its owner may read, as ssh warns about a private key: a config secret
// is only as private as the key that opens it. A missing file is not
// warned about here: decrypting reports it, if a config needs it.
func Check(identityFile string) string {
	fi, err := os.Stat(identityFile)
	if err != nil {
		return ""
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("age identity %s is readable by others (mode %#o); it should be 0600 or 0400, readable by its owner only", identityFile, perm)
	}
	return ""
}
