package graceful

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// tracker follows a server's connections through http.Server.ConnState,
// and which of them are serving a response that closes them, so a handover
// can wait until no connection can bring in a request it would not answer.
type tracker struct {
	mu      sync.Mutex
	conns   map[net.Conn]connState
	changed chan struct{} // closed and replaced on every change
}

type connState struct {
	state   http.ConnState
	closing bool // serving a request whose response says "Connection: close"
}

func newTracker() *tracker {
	return &tracker{
		conns:   make(map[net.Conn]connState),
		changed: make(chan struct{}),
	}
}

// hook is the server's ConnState. net/http calls it with StateNew in the
// Serve goroutine before Serve can return, so once Serve has returned every
// accepted connection is known here.
func (t *tracker) hook(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch s {
	case http.StateHijacked, http.StateClosed:
		delete(t.conns, c)
	default:
		t.conns[c] = connState{state: s}
	}
	t.notifyLocked()
}

// closing records that c serves a request whose response closes it.
func (t *tracker) closing(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cs, ok := t.conns[c]; ok {
		cs.closing = true
		t.conns[c] = cs
	}
	t.notifyLocked()
}

func (t *tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// open counts the connections that may still bring in a request: accepted
// and unread (StateNew), idle between keep-alive requests (StateIdle), or
// serving a response that leaves them open. It also returns the total and
// the channel that is closed on the next change.
func (t *tracker) open() (n, total int, changed <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, cs := range t.conns {
		if !cs.closing {
			n++
		}
	}
	return n, len(t.conns), t.changed
}

// waitClosing blocks until every connection serves a request whose response
// closes it (or is gone), or until ctx is done.
func (t *tracker) waitClosing(ctx context.Context) error {
	for {
		n, _, changed := t.open()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
