package reconcile

import "fmt"

// CheckVersion applies the rule of a release's version (and of a rollout
// id): 1 to 64 of A-Z a-z 0-9 . _ + -, not starting with ".". Writers of
// the desired file (reconciler bump) check a version with it before they
// write one.
func CheckVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf(`%q must be 1 to 64 of A-Z a-z 0-9 . _ + - and not start with "."`, v)
	}
	return nil
}
