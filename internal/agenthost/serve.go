package agenthost

import (
	"context"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds the graceful shutdown of the HTTP server once its
// context ended.
const shutdownGrace = 5 * time.Second

// ServeHTTP serves srv on ln until ctx ends, then shuts it down gracefully
// (requests under way get shutdownGrace to finish).
func ServeHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}
