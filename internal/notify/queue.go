package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/internal/backoff"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// delivery is one rendered event on its way to one URL.
type delivery struct {
	kind string
	body []byte
	sig  string // "" without a secret
}

// worker owns the queue and the deliveries of one URL.
type worker struct {
	s     *Sender
	url   string
	shown string // what logs say of url

	mu     sync.Mutex
	queue  []delivery
	closed bool
	wake   chan struct{} // buffered 1: a push or a close while the worker waits
}

// push queues d; when the queue is full the oldest event goes. It never
// blocks on the network: the worker holds mu only to take from the queue.
func (w *worker) push(d delivery) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.drop(d.kind, "the sender is closed", nil)
		return
	}
	var oldest *delivery
	if len(w.queue) >= w.s.queueSize() {
		oldest = &w.queue[0]
		w.queue = w.queue[1:]
	}
	w.queue = append(w.queue, d)
	w.mu.Unlock()
	if oldest != nil {
		w.drop(oldest.kind, "the queue is full: dropped the oldest", nil)
	}
	w.poke()
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// pop takes the next delivery; closed says the queue is empty and takes
// no more.
func (w *worker) pop() (d delivery, ok, closed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return delivery{}, false, w.closed
	}
	d = w.queue[0]
	w.queue = w.queue[1:]
	return d, true, false
}

func (w *worker) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.poke()
}

// run delivers the queue in order until it is closed and empty, or ctx
// ends; what is still queued then is dropped.
func (w *worker) run(ctx context.Context) {
	for {
		d, ok, closed := w.pop()
		switch {
		case ok:
			w.deliver(ctx, d)
		case closed:
			return
		default:
			select {
			case <-ctx.Done():
			case <-w.wake:
			}
		}
		if ctx.Err() != nil {
			w.dropQueued()
			return
		}
	}
}

// dropQueued drops what is left when the worker stops early.
func (w *worker) dropQueued() {
	w.mu.Lock()
	n := len(w.queue)
	w.queue, w.closed = nil, true
	w.mu.Unlock()
	if n > 0 {
		w.s.Log.Warn("notifications dropped: still queued when the sender stopped", "url", w.shown, "count", n)
		w.s.Metrics.add(ResultDropped, n)
	}
}

// deliver POSTs d until a 2xx answer, the attempts run out or ctx ends.
func (w *worker) deliver(ctx context.Context, d delivery) {
	var err error
	for attempt := 1; ; attempt++ {
		if err = w.post(ctx, d); err == nil {
			w.s.Metrics.add(ResultSent, 1)
			return
		}
		w.s.Metrics.add(ResultFailed, 1)
		if attempt >= w.s.attempts() {
			w.drop(d.kind, fmt.Sprintf("gave up after %d attempts", attempt), err)
			return
		}
		wait := w.backoff(attempt)
		w.s.Log.Debug("notification not delivered; retrying", "url", w.shown, "event", d.kind, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			w.drop(d.kind, "the sender stopped before it was delivered", err)
			return
		}
	}
}

func (w *worker) drop(kind, why string, err error) {
	args := []any{"url", w.shown, "event", kind, "why", why}
	if err != nil {
		args = append(args, "err", err)
	}
	w.s.Log.Warn("notification dropped", args...)
	w.s.Metrics.add(ResultDropped, 1)
}

// backoff is the wait after the attempt-th failure: the one backoff
// (internal/backoff) from MinBackoff to MaxBackoff, so a fleet that lost
// its receiver at once does not retry in step.
func (w *worker) backoff(attempt int) time.Duration {
	return backoff.Exp{Min: w.s.minWait(), Max: w.s.maxWait(), Rand: w.s.Rand}.Delay(attempt)
}

// maxAnswer bounds what is read of an answer (to reuse the connection).
const maxAnswer = 64 << 10

// post makes one attempt, within Timeout.
func (w *worker) post(ctx context.Context, d delivery) error {
	ctx, cancel := context.WithTimeout(ctx, w.s.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(d.body))
	if err != nil {
		return w.clean(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.s.userAgent())
	if d.sig != "" {
		req.Header.Set(SignatureHeader, d.sig)
	}
	resp, err := w.s.Client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("no answer within %s", w.s.timeout())
		}
		return w.clean(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// clean cuts a client error to its cause: *url.Error quotes the whole URL,
// path and query included, which may carry a webhook's token. The text
// then goes through redact.Text, the safety net under every error we log.
func (w *worker) clean(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return errors.New(redact.Text(err.Error(), append(redact.Secrets(w.url), redact.Spellings(w.url)...)))
}
