package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// maxWebhookBody bounds what POST /reconcile reads (GitHub sends < 25 MiB;
// the signature covers the whole body, so it must be read).
const maxWebhookBody = 25 << 20

func newHTTPServer(agent *reconcile.Agent, layout reconcile.Layout, reg *prometheus.Registry, secret []byte, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := readStatus(layout)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, st)
	})
	mux.HandleFunc("POST /reconcile", func(w http.ResponseWriter, r *http.Request) {
		if !webhookAllowed(w, r, secret, log) {
			return
		}
		agent.Trigger()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "poll scheduled\n")
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// webhookAllowed reads the body of POST /reconcile and, with a secret,
// checks its signature. When it refuses the request it has answered it.
func webhookAllowed(w http.ResponseWriter, r *http.Request, secret []byte, log *slog.Logger) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return false
	}
	if secret != nil {
		if err := verifySignature(secret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
			log.Warn("webhook refused", "remote", r.RemoteAddr, "err", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return false
		}
	}
	return true
}

// serveHTTP serves until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
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
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
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

// Webhook signature errors.
var (
	errNoSignature  = errors.New("missing X-Hub-Signature-256")
	errBadSignature = errors.New("X-Hub-Signature-256 does not match")
)

// verifySignature checks a GitHub-style "sha256=<hex HMAC of the body>",
// in constant time.
func verifySignature(secret, body []byte, header string) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		if header == "" {
			return errNoSignature
		}
		return errBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return errBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errBadSignature
	}
	return nil
}

// readStatus is the status of `status --json` and GET /status.
func readStatus(layout reconcile.Layout) (reconcile.Status, error) {
	st, err := layout.ReadStatus()
	if err != nil {
		return st, err
	}
	if procs, err := (restart.Finder{Dir: layout.Dir}).Find(); err == nil && len(procs) > 0 {
		st.SetApp(procs[0].PID, procs[0].Exe, st.BinFile)
	} else {
		st.SetApp(0, "", "")
	}
	return st, nil
}
