package graceful

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Server-side timeouts. ReadHeaderTimeout also bounds how long a silent
// client can keep a connection in StateNew.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// server is an http.Server on one listener that can stop accepting and hand
// its connections over without dropping a request it has accepted.
type server struct {
	srv      *http.Server
	ln       net.Listener
	conns    *tracker
	draining atomic.Bool

	done chan struct{} // closed when Serve has returned
	err  error         // Serve's result; read only after done
}

// newServer wraps h so that, once draining, every response asks the client
// to close the connection. Requests get ctx's values but not its
// cancellation: a stop lets them finish.
func newServer(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) *server {
	s := &server{ln: ln, conns: newTracker(), done: make(chan struct{})}
	base := context.WithoutCancel(ctx)
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveHTTP(h, w, r) }),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ConnState:         s.conns.hook,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		BaseContext: func(net.Listener) context.Context { return base },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// connKey keys the request's connection in its context.
type connKey struct{}

func (s *server) serveHTTP(h http.Handler, w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		// net/http closes the connection after a response that carries
		// this header, so the client's next request goes to the new process.
		w.Header().Set("Connection", "close")
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			s.conns.closing(c)
		}
	}
	h.ServeHTTP(w, r)
}

// serve runs Serve until the listener is closed; run it in a goroutine.
func (s *server) serve() {
	s.err = s.srv.Serve(s.ln)
	close(s.done)
}

// drain hands over: stop accepting; wait (bounded by grace) until every
// connection serves a request answered with "Connection: close", so none
// can bring in a request after Shutdown has begun; then Shutdown, so
// in-flight requests finish (bounded by ctx). An error means connections
// had to be cut.
func (s *server) drain(ctx context.Context, grace time.Duration) error {
	s.draining.Store(true)
	// Closing our copy stops this process accepting; the socket, and the
	// connections queued on it, live on in the new process.
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return s.cut(fmt.Errorf("close listener: %w", err))
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return s.cut(fmt.Errorf("wait for serve to return: %w", ctx.Err()))
	}
	gctx, cancel := context.WithTimeout(ctx, grace)
	// A timeout is expected (an idle keep-alive client, a response begun
	// before the drain); Shutdown closes such connections once idle.
	_ = s.conns.waitClosing(gctx)
	cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.cut(fmt.Errorf("wait for in-flight requests: %w", err))
	}
	return nil
}

// cut closes every connection at once, after a drain ran out of time.
func (s *server) cut(err error) error {
	if cerr := s.srv.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = errors.Join(err, fmt.Errorf("close connections: %w", cerr))
	}
	return err
}
