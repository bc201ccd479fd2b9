package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Receiver is a real HTTP server standing for a notification receiver (a
// chat webhook, an incident tool): it records every request and answers
// the status codes it was given, in order, then 200; a stalling Receiver
// never answers, until Close.
type Receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []Request
	answers []int
	stall   bool
	release chan struct{}
	once    sync.Once
	got     chan struct{}
}

// Request is one request a Receiver got, and the status it answered (0
// for none: it stalled).
type Request struct {
	Header http.Header
	Body   []byte
	Status int
}

// NewReceiver starts a Receiver that answers answers first, then 200.
func NewReceiver(answers ...int) *Receiver {
	r := &Receiver{answers: answers, release: make(chan struct{}), got: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// NewStallingReceiver starts a Receiver that reads each request and never
// answers (until Close).
func NewStallingReceiver() *Receiver {
	r := NewReceiver()
	r.stall = true
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	status := http.StatusOK
	if r.stall {
		status = 0
	} else if len(r.answers) > 0 {
		status, r.answers = r.answers[0], r.answers[1:]
	}
	r.reqs = append(r.reqs, Request{Header: req.Header.Clone(), Body: body, Status: status})
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	if status == 0 {
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
		return
	}
	w.WriteHeader(status)
}

// Got receives once per request (up to 1000 not yet received).
func (r *Receiver) Got() <-chan struct{} { return r.got }

// Requests returns every request so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Delivered returns the requests answered 2xx.
func (r *Receiver) Delivered() []Request {
	var out []Request
	for _, q := range r.Requests() {
		if q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

// Close lets stalled requests go, then closes the server.
func (r *Receiver) Close() {
	r.once.Do(func() { close(r.release) })
	r.Server.Close()
}
