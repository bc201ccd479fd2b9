package reconcile

import (
	"net/url"
	"strings"
)

// redactURL returns a URL fit for logs and `diff` output: userinfo (a
// password, or a token given as the user name) and query values (presigned
// URLs carry signatures there) are replaced by REDACTED.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL: hide anything between "://" and "@".
		if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); i >= 0 && j > i {
			return raw[:i+3] + "REDACTED" + raw[j:]
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
