package agenthost

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownGrace bounds the graceful shutdown of the HTTP server once its
// context ended.
const shutdownGrace = 5 * time.Second

// ServeHTTP serves srv on ln until ctx ends, then shuts it down gracefully
// (requests under way get shutdownGrace to finish).
func ServeHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	fresh := &freshConns{m: map[net.Conn]bool{}}
	srv.ConnState = fresh.hook
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting first, and let the connections accepted a moment ago
	// have their request read before Shutdown: net/http drops, unanswered,
	// a request it reads once Shutdown has begun. When a successor holds
	// the same socket (a self-update), the connections still queued are
	// accepted there.
	srv.SetKeepAlivesEnabled(false)
	ln.Close()
	<-errc
	fresh.wait(time.Second)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	return srv.Shutdown(sctx)
}

// freshConns are the connections accepted whose first request is not
// read yet (http.StateNew).
type freshConns struct {
	mu sync.Mutex
	m  map[net.Conn]bool
}

func (f *freshConns) hook(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == http.StateNew {
		f.m[c] = true
	} else {
		delete(f.m, c)
	}
}

// wait waits, at most limit, until no connection is fresh.
func (f *freshConns) wait(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := len(f.m)
		f.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
