package agenthost

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Target is what the endpoint set serves: one app (*Single) or every app
// of an apps dir (*Apps).
type Target interface {
	// Gather is GET /metrics.
	prometheus.Gatherer
	// Status is the JSON of GET /status; an error answers 500.
	Status() (any, error)
	// Trigger asks for a poll now of the app called name ("": of every
	// app) and returns the answer's text. A *NoSuchAppError answers 404,
	// another error 409.
	Trigger(name string) (string, error)
}

// NoSuchAppError is POST /reconcile?app=NAME for a NAME without a file.
type NoSuchAppError struct{ Name string }

func (e *NoSuchAppError) Error() string { return "no app " + e.Name + " in the apps dir" }

// NewServer is the agent's HTTP server, the same endpoint set for one app
// or many: GET /metrics, GET /healthz, GET /status and POST /reconcile
// (?app=NAME: that app only), which with a secret needs a GitHub-style
// X-Hub-Signature-256 HMAC of its body.
func NewServer(t Target, secret []byte, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := t.Status()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		WriteJSON(w, st)
	})
	mux.HandleFunc("POST /reconcile", func(w http.ResponseWriter, r *http.Request) {
		if !webhookAllowed(w, r, secret, log) {
			return
		}
		answer, err := t.Trigger(r.URL.Query().Get("app"))
		var nf *NoSuchAppError
		switch {
		case errors.As(err, &nf):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, answer+"\n")
		}
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// WriteJSON writes v as indented JSON: GET /status, and status --json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
