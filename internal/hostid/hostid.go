// Package hostid is the one default of a host's id (--host-id): the id
// given, else the host name. The agent's rollout placement, its metrics
// and its notifications all name the host by it, so they cannot disagree.
package hostid

import "os"

// Or returns given, or the host name when given is "". The error is
// os.Hostname's; the caller says which setting it was resolving.
func Or(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	return os.Hostname()
}
