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
