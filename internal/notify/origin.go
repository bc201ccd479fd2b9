package notify

import (
	"net/url"

	"github.com/reconciler-dev/reconciler/internal/redact"
)

// Origin is what logs and errors show of a notification URL: scheme and
// host (userinfo hidden by redact.URL), and "/…" for a path or query,
// which incoming-webhook URLs use to carry their token
// (https://hooks.slack.com/services/T…/B…/<token>).
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return redact.URL(raw)
	}
	rest := u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != ""
	u.Path, u.RawPath, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", "", "", false, "", ""
	shown := redact.URL(u.String())
	if rest {
		shown += "/…"
	}
	return shown
}
