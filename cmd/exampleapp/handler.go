package main

import (
	"fmt"
	"net/http"
	"time"
)

// maxSlow caps GET /slow, so a test cannot hold a process for long.
const maxSlow = 10 * time.Second

// newHandler serves:
//
//	GET /         "exampleapp <version>: <message>"
//	GET /healthz  200 "ok", or 500 when the config says "healthy": false
//	GET /slow?d=1s  sends the headers (X-Version) at once and the body after
//	              d: an in-flight request to watch across a handover
func newHandler(version string, cfg config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "exampleapp %s: %s\n", version, cfg.Message)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !cfg.healthy() {
			http.Error(w, "unhealthy (config)", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 || d > maxSlow {
			http.Error(w, fmt.Sprintf("d: want a duration up to %s", maxSlow), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Version", version)
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fmt.Fprintf(w, "exampleapp %s: slept %s\n", version, d)
		case <-r.Context().Done():
		}
	})
	return mux
}
