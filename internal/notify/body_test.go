package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/reconciler-dev/reconciler/internal/backoff"
	"github.com/reconciler-dev/reconciler/reconcile"
)

const rev = "0123456789abcdef0123456789abcdef01234567"

// TestBodyShape: the keys of docs/reference.md, in its order, every one
// present, time in RFC 3339 UTC.
func TestBodyShape(t *testing.T) {
	at := time.Date(2026, 12, 1, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	b := NewBody(reconcile.Event{Kind: reconcile.EventApplied, FromVersion: "1.9", ToVersion: "2.0", Revision: rev, Time: at},
		"web-017", "/srv/web").Encode()
	want := `{"event":"applied","host":"web-017","dir":"/srv/web","from_version":"1.9","to_version":"2.0","revision":"` + rev +
		`","rollout":"","error":"","time":"2026-12-01T10:00:00Z","text":"web-017 /srv/web: 1.9 -> 2.0 applied","detail":"","count":0}` + "\n"
	if string(b) != want {
		t.Errorf("body:\ngot  %s\nwant %s", b, want)
	}
	var m map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		if _, ok := v.(string); !ok && k != "count" {
			t.Errorf("key %s: got %T, want a string", k, v)
		}
	}
	if _, ok := m["count"].(float64); !ok {
		t.Errorf("key count: got %T, want a number", m["count"])
	}
}

// TestBodyBounds: text is one line of at most MaxText characters whatever
// the error holds; detail keeps the end of what a program printed, at
// most MaxDetail bytes, from the start of a line; an error with a line
// break is one line.
func TestBodyBounds(t *testing.T) {
	long := strings.Repeat("é", 400)
	b := NewBody(reconcile.Event{Kind: reconcile.EventError, Revision: rev, Error: "line one\nline two " + long}, "h", "/d")
	if strings.ContainsAny(b.Text, "\r\n") || utf8.RuneCountInString(b.Text) != MaxText || !strings.HasSuffix(b.Text, "…") {
		t.Errorf("text %q (%d characters): want one line of %d, cut with …", b.Text, utf8.RuneCountInString(b.Text), MaxText)
	}
	if b.Error != "line one line two "+long {
		t.Errorf("error %q: want it on one line, whole", b.Error)
	}
	var out strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&out, "log line %d\n", i)
	}
	b = NewBody(reconcile.Event{Kind: reconcile.EventRolledBack, Detail: out.String()}, "h", "/d")
	if len(b.Detail) > MaxDetail || !strings.HasPrefix(b.Detail, "log line ") || !strings.HasSuffix(b.Detail, "log line 999\n") {
		t.Errorf("detail of %d bytes, from %.20q to %q: want at most %d, the end, from a line's start", len(b.Detail), b.Detail,
			b.Detail[max(len(b.Detail)-20, 0):], MaxDetail)
	}
	b = NewBody(reconcile.Event{Kind: reconcile.EventAppExited, ToVersion: "2.0", Count: 3}, "h", "/d")
	if b.Count != 3 || b.Text != "h /d: app 2.0 exited (3 times in a row)" {
		t.Errorf("app_exited: count %d, text %q", b.Count, b.Text)
	}
}

func TestBodyText(t *testing.T) {
	for _, tc := range []struct {
		ev   reconcile.Event
		want string
	}{
		{reconcile.Event{Kind: reconcile.EventApplied, ToVersion: "1.0"}, "h /d: 1.0 applied"},
		{reconcile.Event{Kind: reconcile.EventApplied, FromVersion: "1.0", ToVersion: "2.0"}, "h /d: 1.0 -> 2.0 applied"},
		{reconcile.Event{Kind: reconcile.EventRolledBack, FromVersion: "2.0", ToVersion: "1.0", Error: "health: 503"},
			"h /d: 2.0 -> 1.0 rolled back: health: 503"},
		{reconcile.Event{Kind: reconcile.EventError, Revision: rev, Error: "bad desired file"},
			"h /d: failed at revision 0123456789ab: bad desired file"},
		{reconcile.Event{Kind: reconcile.EventError, Error: "dial: refused"}, "h /d: failed at revision (unknown): dial: refused"},
		{reconcile.Event{Kind: reconcile.EventUntrusted, Revision: rev, Error: "untrusted commit: unsigned"},
			"h /d: refused revision 0123456789ab: untrusted commit: unsigned"},
		{reconcile.Event{Kind: reconcile.EventDrift, FromVersion: "1.0", ToVersion: "2.0"}, "h /d: changed by hand; put back 2.0"},
		{reconcile.Event{Kind: reconcile.EventDeferred, ToVersion: "2.0"}, "h /d: deferred 2.0"},
	} {
		if got := NewBody(tc.ev, "h", "/d").Text; got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.ev.Kind, got, tc.want)
		}
	}
	if got := NewBody(reconcile.Event{Kind: reconcile.EventApplied, ToVersion: "1"}, "", "/d").Text; got != "/d: 1 applied" {
		t.Errorf("no host: got %q", got)
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/s3cr3tt0ken":    "https://hooks.slack.com/…",
		"https://user:pa55word@example.com/hook?token=abcdefgh": "https://xxxxx@example.com/…",
		"http://127.0.0.1:8080":                                 "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":                                "http://127.0.0.1:8080",
		"hooks.slack.com/services/T0/B0/s3cr3tt0ken":            "hooks.slack.com/…",
		"https:/hooks.slack.com/services/s3cr3tt0ken":           "https:/…",
		"ftp://user:pa55word@host/s3cr3tt0ken":                  "ftp://xxxxx@host/…",
		"https:///hooks/s3cr3tt0ken":                            "https:///…",
		"https://":                                              "https://",
	} {
		if got := Origin(in); got != want {
			t.Errorf("Origin(%q): got %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cr3tt0ken", "pa55word", "abcdefgh", "user"} {
			if strings.Contains(Origin(in), secret) {
				t.Errorf("Origin(%q) shows %q", in, secret)
			}
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	w := &worker{s: &Sender{MinBackoff: time.Second, MaxBackoff: 5 * time.Second}}
	for _, tc := range []struct {
		attempt int
		lo, hi  time.Duration
	}{{1, 500 * time.Millisecond, time.Second}, {2, time.Second, 2 * time.Second}, {3, 2 * time.Second, 4 * time.Second},
		{4, 2500 * time.Millisecond, 5 * time.Second}, {10, 2500 * time.Millisecond, 5 * time.Second}} {
		for _, r := range []func(int64) int64{func(int64) int64 { return 0 }, func(n int64) int64 { return n - 1 }} {
			w.s.Rand = r
			if got := w.backoff(tc.attempt); got < tc.lo || got > tc.hi {
				t.Errorf("attempt %d: wait %s, want within [%s, %s]", tc.attempt, got, tc.lo, tc.hi)
			}
		}
	}
	// the one backoff's waits, odd durations included (the old copy's top
	// was a nanosecond short of the doubling, its bottom below the half)
	for _, r := range []func(int64) int64{func(int64) int64 { return 0 }, func(n int64) int64 { return n - 1 }} {
		w := &worker{s: &Sender{MinBackoff: 3, MaxBackoff: 45, Rand: r}}
		e := backoff.Exp{Min: 3, Max: 45, Rand: r}
		for n := 1; n <= 6; n++ {
			if got, want := w.backoff(n), e.Delay(n); got != want {
				t.Errorf("attempt %d of 3ns..45ns: wait %d, want %d", n, got, want)
			}
		}
	}
	if !reflect.DeepEqual(w.s.attempts(), DefaultAttempts) {
		t.Errorf("default attempts: got %d, want %d", w.s.attempts(), DefaultAttempts)
	}
}
