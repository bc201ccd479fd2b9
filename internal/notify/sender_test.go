package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// newReceiver is a testkit.Receiver closed when the test ends.
func newReceiver(t *testing.T, answers ...int) *testkit.Receiver {
	r := testkit.NewReceiver(answers...)
	t.Cleanup(r.Close)
	return r
}

func stallingReceiver(t *testing.T) *testkit.Receiver {
	r := testkit.NewStallingReceiver()
	t.Cleanup(r.Close)
	return r
}

// wait blocks until r has seen n more requests (liveness: the test's own
// deadline is the bound).
func wait(t *testing.T, r *testkit.Receiver, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.Got():
		case <-t.Context().Done():
			t.Fatal("test ended before the receiver saw the request")
		}
	}
}

// newSender is a Sender with test bounds: 1 ms first backoff.
func newSender(t *testing.T, logs io.Writer, urls ...string) (*Sender, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := &Sender{URLs: urls, Host: "web-017", Dir: "/srv/web", Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Metrics: m, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Attempts: 3, Timeout: 5 * time.Second}
	s.Start(t.Context())
	return s, reg
}

// count reads reconciler_notifications_total{result} from the registry.
func count(reg *prometheus.Registry, result string) int {
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() != "reconciler_notifications_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return -1
}

// generous is the bound given Close when the test wants everything
// delivered: only a broken sender takes it.
const generous = time.Minute

func closeWithin(s *Sender, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	s.Close(ctx)
}

var applied = reconcile.Event{Kind: reconcile.EventApplied, FromVersion: "1.9", ToVersion: "2.0", Revision: rev,
	Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}

// TestDelivered: each receiver gets the body once, as JSON, with the
// headers and an HMAC that an independent check accepts.
func TestDelivered(t *testing.T) {
	a, b := newReceiver(t), newReceiver(t)
	var logs testkit.SyncBuffer
	s, m := newSender(t, &logs, a.URL+"/hook", b.URL)
	s.Secret = []byte("s3cret")
	s.Notify(applied)
	closeWithin(s, generous)
	for _, r := range []*testkit.Receiver{a, b} {
		got := r.Delivered()
		if len(got) != 1 {
			t.Fatalf("%s: got %d deliveries, want 1", r.URL, len(got))
		}
		q := got[0]
		var body map[string]any
		if err := json.Unmarshal(q.Body, &body); err != nil {
			t.Fatalf("body %q: %v", q.Body, err)
		}
		want := map[string]any{"event": "applied", "host": "web-017", "dir": "/srv/web", "from_version": "1.9",
			"to_version": "2.0", "revision": rev, "rollout": "", "error": "", "time": "2026-12-01T10:00:00Z",
			"text": "web-017 /srv/web: 1.9 -> 2.0 applied", "detail": "", "count": 0.0}
		for k, v := range want {
			if got, ok := body[k]; !ok || got != v {
				t.Errorf("body %s: got %q (present %v), want %q", k, got, ok, v)
			}
		}
		if len(body) != len(want) {
			t.Errorf("body has %d keys, want %d: %s", len(body), len(want), q.Body)
		}
		if ct := q.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type: got %q, want application/json", ct)
		}
		if ua := q.Header.Get("User-Agent"); !strings.HasPrefix(ua, "reconciler") {
			t.Errorf("User-Agent: got %q, want it to name reconciler", ua)
		}
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(q.Body)
		if sig := q.Header.Get("X-Reconciler-Signature-256"); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("signature: got %q, want the HMAC-SHA256 of the body", sig)
		}
	}
	if n := count(m, ResultSent); n != 2 {
		t.Errorf("sent: got %d, want 2", n)
	}
}

func TestUnsignedWithoutSecret(t *testing.T) {
	a := newReceiver(t)
	s, _ := newSender(t, io.Discard, a.URL)
	s.Notify(applied)
	closeWithin(s, generous)
	if got := a.Delivered(); len(got) != 1 || got[0].Header.Get(SignatureHeader) != "" {
		t.Errorf("got %d deliveries (signature %q), want 1 unsigned", len(got), got[0].Header.Get(SignatureHeader))
	}
}

// TestRetriedThenDelivered: a 500, then a 200: delivered once, after one
// retry.
func TestRetriedThenDelivered(t *testing.T) {
	a := newReceiver(t, http.StatusInternalServerError)
	s, m := newSender(t, io.Discard, a.URL)
	s.Notify(applied)
	closeWithin(s, generous)
	if got, n := len(a.Delivered()), len(a.Requests()); got != 1 || n != 2 {
		t.Errorf("got %d deliveries in %d requests, want 1 in 2 (a 500, then the retry)", got, n)
	}
	if f, sent := count(m, ResultFailed), count(m, ResultSent); f != 1 || sent != 1 {
		t.Errorf("metrics: failed %d, sent %d, want 1 and 1", f, sent)
	}
}

// TestOrderKept: events reach a receiver in the order they happened, even
// when one is retried.
func TestOrderKept(t *testing.T) {
	a := newReceiver(t, http.StatusBadGateway, http.StatusServiceUnavailable)
	s, _ := newSender(t, io.Discard, a.URL)
	for _, v := range []string{"1", "2", "3"} {
		ev := applied
		ev.ToVersion = v
		s.Notify(ev)
	}
	closeWithin(s, generous)
	var got []string
	for _, q := range a.Delivered() {
		var b Body
		json.Unmarshal(q.Body, &b)
		got = append(got, b.ToVersion)
	}
	if strings.Join(got, ",") != "1,2,3" {
		t.Errorf("delivered versions %v, want 1,2,3", got)
	}
}

// TestStalledReceiver: a receiver that never answers holds back neither
// Notify nor the other URL, and Close returns once its bound is over,
// dropping what it could not deliver, with a log line.
func TestStalledReceiver(t *testing.T) {
	stalled, good := stallingReceiver(t), newReceiver(t)
	var logs testkit.SyncBuffer
	s, m := newSender(t, &logs, stalled.URL, good.URL)
	s.Timeout = time.Hour // only Close's bound ends the stalled request
	for range 3 {
		s.Notify(applied) // returns although the first request hangs
	}
	wait(t, stalled, 1)
	wait(t, good, 3)
	closeWithin(s, 100*time.Millisecond) // returns: the bound, then the cancelled request
	if n := len(good.Delivered()); n != 3 {
		t.Errorf("the other receiver got %d events, want 3", n)
	}
	if n := count(m, ResultDropped); n != 3 {
		t.Errorf("dropped: got %d, want 3 (one cancelled, two queued behind it)\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "notification dropped") || !strings.Contains(logs.String(), "still queued") {
		t.Errorf("logs: want lines for the cancelled and the queued events, got\n%s", logs.String())
	}
}

// TestReceiverDown: a closed port is tried Attempts times, then the event
// is dropped with a log line naming the URL's origin only.
func TestReceiverDown(t *testing.T) {
	addr, err := testkit.FreeAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + addr + "/services/T0/B0/s3cr3tt0ken"
	var logs testkit.SyncBuffer
	s, m := newSender(t, &logs, down)
	s.Notify(applied)
	closeWithin(s, generous) // the attempts run out well within it
	if f, d := count(m, ResultFailed), count(m, ResultDropped); f != 3 || d != 1 {
		t.Errorf("metrics: failed %d, dropped %d, want 3 attempts and 1 drop", f, d)
	}
	out := logs.String()
	if !strings.Contains(out, "notification dropped") || !strings.Contains(out, "gave up after 3 attempts") {
		t.Errorf("logs: want the drop after 3 attempts, got\n%s", out)
	}
	if strings.Contains(out, "s3cr3tt0ken") {
		t.Errorf("logs show the URL's token:\n%s", out)
	}
}

// TestQueueFull: while a receiver stalls, the queue keeps the newest
// events and drops the oldest, with a log line.
func TestQueueFull(t *testing.T) {
	stalled := stallingReceiver(t)
	var logs testkit.SyncBuffer
	s, m := newSender(t, &logs, stalled.URL)
	s.Timeout = time.Hour
	s.Queue = 2
	s.Notify(applied)
	wait(t, stalled, 1) // the first is in flight, out of the queue
	for range 3 {
		s.Notify(applied)
	}
	if n := count(m, ResultDropped); n != 1 {
		t.Errorf("dropped: got %d, want 1 (3 events into a queue of 2)", n)
	}
	if !strings.Contains(logs.String(), "the queue is full") {
		t.Errorf("logs: want a line for the dropped oldest event, got\n%s", logs.String())
	}
	closeWithin(s, 10*time.Millisecond)
}

// TestNotifyAfterClose is dropped, not a panic or a block.
func TestNotifyAfterClose(t *testing.T) {
	a := newReceiver(t)
	s, m := newSender(t, io.Discard, a.URL)
	closeWithin(s, generous)
	s.Notify(applied)
	if n := count(m, ResultDropped); n != 1 || len(a.Requests()) != 0 {
		t.Errorf("after Close: dropped %d, requests %d, want 1 and 0", n, len(a.Requests()))
	}
}
