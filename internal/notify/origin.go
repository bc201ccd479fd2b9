package notify

import (
	"net/url"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/redact"
)

// Origin is what logs and errors show of a notification URL: scheme and
// host (userinfo hidden by redact.URL), and "/…" for a path or query,
// which incoming-webhook URLs use to carry their token
// (https://hooks.slack.com/services/T…/B…/<token>). A URL without a host
// is cut the same way, at its first "/", "?" or "#".
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		scheme, rest, ok := strings.Cut(raw, "://")
		if !ok {
			rest = raw
		}
		cut := ""
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest, cut = rest[:i], "/…"
		}
		switch {
		case !ok:
			return redact.URL(rest) + cut
		case rest == "":
			return scheme + "://" + cut
		}
		return redact.URL(scheme+"://"+rest) + cut
	}
	more := u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.ForceQuery || u.Fragment != ""
	u.Path, u.RawPath, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", "", "", false, "", ""
	shown := redact.URL(u.String())
	if more {
		shown += "/…"
	}
	return shown
}
