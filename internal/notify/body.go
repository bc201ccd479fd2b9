package notify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" when the
// Sender has a secret.
const SignatureHeader = "X-Reconciler-Signature-256"

// Body is the JSON object POSTed for one event. Every key is always
// present, empty or not, so receivers need no optional handling.
type Body struct {
	Event       string `json:"event"`
	Host        string `json:"host"`
	Dir         string `json:"dir"`
	FromVersion string `json:"from_version"`
	ToVersion   string `json:"to_version"`
	Revision    string `json:"revision"`
	Rollout     string `json:"rollout"`
	Error       string `json:"error"`
	Time        string `json:"time"` // RFC 3339, UTC
	Text        string `json:"text"` // one readable line, at most MaxText characters
	// Detail is what a program printed that the error quoted (the last
	// lines of app.log, a hook's output), at most MaxDetail bytes: its end.
	Detail string `json:"detail"`
	Count  int    `json:"count"` // app_exited: the exits in the streak; else 0
}

// Bounds of a body's text and detail.
const (
	MaxText   = 300     // characters
	MaxDetail = 4 << 10 // bytes
)

// NewBody is the body of ev as seen from host and dir.
func NewBody(ev reconcile.Event, host, dir string) Body {
	b := Body{
		Event:       string(ev.Kind),
		Host:        host,
		Dir:         dir,
		FromVersion: ev.FromVersion,
		ToVersion:   ev.ToVersion,
		Revision:    ev.Revision,
		Rollout:     ev.Rollout,
		Error:       oneLine(ev.Error),
		Time:        ev.Time.UTC().Format(time.RFC3339),
		Detail:      tail(ev.Detail, MaxDetail),
		Count:       ev.Count,
	}
	b.Text = cut(oneLine(b.text()), MaxText)
	return b
}

// oneLine makes s one line: its line breaks become spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cut cuts s to at most n characters, the last of them "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// tail keeps the end of s, at most n bytes, the one way output is cut
// (appdir.Tail: from the start of a line when one starts within them).
func tail(s string, n int) string {
	t, _ := appdir.Tail([]byte(s), n)
	return string(t)
}

// text is the one-line summary, e.g. "web-017 /srv/web: 1.9 -> 2.0 applied".
func (b Body) text() string {
	who := b.Dir
	if b.Host != "" {
		who = b.Host + " " + b.Dir
	}
	switch reconcile.EventKind(b.Event) {
	case reconcile.EventApplied:
		return fmt.Sprintf("%s: %s applied", who, b.versions())
	case reconcile.EventRolledBack:
		return fmt.Sprintf("%s: %s rolled back: %s", who, b.versions(), b.Error)
	case reconcile.EventError:
		return fmt.Sprintf("%s: failed at revision %s: %s", who, shortRev(b.Revision), b.Error)
	case reconcile.EventUntrusted:
		return fmt.Sprintf("%s: refused revision %s: %s", who, shortRev(b.Revision), b.Error)
	case reconcile.EventDrift:
		return fmt.Sprintf("%s: changed by hand; put back %s", who, orNone(b.ToVersion))
	case reconcile.EventAppExited:
		return fmt.Sprintf("%s: app %s exited (%d times in a row)", who, orNone(b.ToVersion), b.Count)
	}
	line := fmt.Sprintf("%s: %s %s", who, b.Event, orNone(b.ToVersion))
	if b.Error != "" {
		line += ": " + b.Error
	}
	return line
}

// versions is "1.9 -> 2.0", or "2.0" when nothing ran before.
func (b Body) versions() string {
	if b.FromVersion == "" || b.FromVersion == b.ToVersion {
		return orNone(b.ToVersion)
	}
	return b.FromVersion + " -> " + orNone(b.ToVersion)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// shortRev cuts a revision to 12 digits, as the logs and status show it.
func shortRev(rev string) string {
	if rev == "" {
		return "(unknown)"
	}
	return gitrev.Short(rev)
}

// Encode renders the body as sent: one JSON object and a newline, with
// "<", ">" and "&" as they are ("1.9 -> 2.0", not "1.9 -\u003e 2.0").
func (b Body) Encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(b) // strings only: cannot fail
	return buf.Bytes()
}

// Sign is the value of SignatureHeader for body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
