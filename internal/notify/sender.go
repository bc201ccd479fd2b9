package notify

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/internal/httpclient"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Defaults of the Sender's bounds.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultAttempts   = 5
	DefaultMinBackoff = 2 * time.Second
	DefaultMaxBackoff = time.Minute
	DefaultQueue      = 100
	DefaultUserAgent  = "reconciler"
)

// Doer is the one-method HTTP seam (an *http.Client satisfies it).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Sender POSTs events to URLs in the background (see the package doc). Set
// the fields, then Start; Notify and Close may be called from any
// goroutine. The zero value of each bound is its default.
type Sender struct {
	URLs      []string
	Secret    []byte // signs each body (SignatureHeader); nil: unsigned
	Host      string // the body's host field
	Dir       string // the body's dir field
	UserAgent string // default DefaultUserAgent
	// TLS is the client's TLS configuration (extra CAs); nil: system roots.
	// Ignored when Client is set.
	TLS *tls.Config
	// Client sends the requests; nil: one that follows no redirect.
	Client  Doer
	Log     *slog.Logger
	Metrics *Metrics

	Timeout    time.Duration // per request, default DefaultTimeout
	Attempts   int           // per event and URL, default DefaultAttempts
	MinBackoff time.Duration // first wait after a failed attempt, default DefaultMinBackoff
	MaxBackoff time.Duration // longest wait, default DefaultMaxBackoff
	Queue      int           // events waiting per URL, default DefaultQueue
	// Rand returns a number in [0, n), for the jitter; default math/rand/v2.
	Rand func(n int64) int64

	workers []*worker
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// Start starts one delivery goroutine per URL. They end when ctx does (what
// is queued then is dropped) or when Close has drained them.
func (s *Sender) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	if s.Log == nil {
		s.Log = discardLog
	}
	if s.Client == nil {
		s.Client = newClient(s.TLS)
	}
	for _, u := range s.URLs {
		w := &worker{s: s, url: u, shown: Origin(u), wake: make(chan struct{}, 1)}
		s.workers = append(s.workers, w)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); w.run(ctx) }()
	}
}

// Notify queues ev for every URL and returns at once.
func (s *Sender) Notify(ev reconcile.Event) {
	body := NewBody(ev, s.Host, s.Dir).Encode()
	d := delivery{kind: string(ev.Kind), body: body}
	if len(s.Secret) > 0 {
		d.sig = Sign(s.Secret, body)
	}
	for _, w := range s.workers {
		w.push(d)
	}
}

// Close takes no more events and waits until every queue is delivered (or
// given up), or until ctx ends: then it stops the deliveries under way and
// drops what is left, with a log line per URL. It returns when every
// delivery goroutine has ended.
func (s *Sender) Close(ctx context.Context) {
	for _, w := range s.workers {
		w.close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.stop()
		<-done
	}
	s.stop()
}

func (s *Sender) stop() {
	if s.cancel != nil {
		s.cancel()
	}
}

// newClient is the default client: a deadline per step before the body (the
// request's context bounds the whole), and no redirect followed: a POST
// turned into a GET by a 302 would be a silent loss.
func newClient(tlsConf *tls.Config) *http.Client {
	tr := httpclient.Transport(tlsConf, DefaultTimeout)
	tr.MaxIdleConnsPerHost = 2
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *Sender) timeout() time.Duration { return orDefault(s.Timeout, DefaultTimeout) }
func (s *Sender) minWait() time.Duration { return orDefault(s.MinBackoff, DefaultMinBackoff) }
func (s *Sender) maxWait() time.Duration { return orDefault(s.MaxBackoff, DefaultMaxBackoff) }
func (s *Sender) attempts() int          { return orDefault(s.Attempts, DefaultAttempts) }
func (s *Sender) queueSize() int         { return orDefault(s.Queue, DefaultQueue) }
func (s *Sender) userAgent() string {
	if s.UserAgent == "" {
		return DefaultUserAgent
	}
	return s.UserAgent
}

// orDefault is v, or def when v is not positive (unset).
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
