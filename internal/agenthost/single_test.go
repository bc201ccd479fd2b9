package agenthost

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/robfig/cron/v3"
)

// startSingle runs one app's agent (Loop) on repo, polling only when
// asked, with its endpoints (a Single) behind secret, and returns their
// client once it has applied version 1.
func startSingle(t *testing.T, repo *deployRepo, secret []byte) client {
	t.Helper()
	layout := reconcile.Layout{Dir: t.TempDir()}
	src, err := gitsrc.New(gitsrc.Options{URL: repo.URL(), CacheDir: layout.GitCache()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := reconcile.NewMetrics(reg, func() (int64, int64) { s := src.Stats(); return s.RefListings, s.Fetches })
	eng := newEngine(layout, src, m)
	agent := reconcile.NewAgent(eng, cron.Every(time.Hour), discard)
	agent.Metrics = m
	ln := listen(t)
	srv := NewServer(&Single{Agent: agent, Layout: layout, Metrics: reg}, secret, discard)
	loop := Loop{Agent: agent, Layout: layout, OnRequest: agent.Trigger, Server: srv, Listener: ln, Log: discard}
	runUntilCleanup(t, loop.Run)
	c := client{t: t, addr: ln.Addr().String()}
	waitFor(t, "version 1 applied", func() bool { return c.version("") == "1" })
	return c
}

// TestSingleEndpoints: one app's endpoints answer as docs/reference.md
// says, and POST /reconcile polls only with the right signature.
func TestSingleEndpoints(t *testing.T) {
	repo := newDeployRepo(t)
	secret := []byte("s3cret")
	c := startSingle(t, repo, secret)

	if code, body := c.get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: got %d %q, want 200 \"ok\\n\"", code, body)
	}
	// the series are set at the end of the pass, after the status
	waitFor(t, "reconciler_polls_total{result=applied} 1", func() bool {
		return c.metric("reconciler_polls_total", `result="applied"`) == 1
	})
	if got := c.metric("go_goroutines"); got != 0 {
		t.Errorf("go_goroutines: got %v, want none (the registry given, nothing more)", got)
	}
	if code, _ := c.do(http.MethodPut, "/status", nil, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /status: got %d, want 405", code)
	}

	repo.release("2")
	body := []byte(`{"ref":"refs/heads/main"}`)
	refusals := []struct {
		name   string
		secret []byte
		want   int
	}{{"unsigned", nil, http.StatusUnauthorized}, {"wrong key", []byte("other"), http.StatusUnauthorized}}
	for _, r := range refusals {
		if code, _ := c.post("", body, r.secret); code != r.want {
			t.Errorf("POST /reconcile %s: got %d, want %d", r.name, code, r.want)
		}
	}
	big := bytes.Repeat([]byte("x"), MaxWebhookBody+1)
	if code, _ := c.post("", big, secret); code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST /reconcile of %d bytes: got %d, want 413", len(big), code)
	}
	if got := c.version(""); got != "1" {
		t.Errorf("after refused webhooks: version %q, want 1 (no poll)", got)
	}
	if code, answer := c.post("?app=anything", body, secret); code != http.StatusAccepted || answer != "poll scheduled\n" {
		t.Errorf("POST /reconcile signed: got %d %q, want 202 \"poll scheduled\\n\"", code, answer)
	}
	waitFor(t, "version 2 applied after the webhook", func() bool { return c.version("") == "2" })
}

// TestSingleStatusUnreadable: GET /status is 500, naming the directory,
// when the status cannot be read.
func TestSingleStatusUnreadable(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "gone")
	ln := listen(t)
	srv := NewServer(&Single{Layout: reconcile.Layout{Dir: gone}, Metrics: prometheus.NewRegistry()}, nil, discard)
	runUntilCleanup(t, func(ctx context.Context) error { return ServeHTTP(ctx, srv, ln) })
	c := client{t: t, addr: ln.Addr().String()}
	if code, body := c.get("/status"); code != http.StatusInternalServerError || !strings.Contains(body, gone) {
		t.Errorf("GET /status: got %d %q, want 500 naming %s", code, body, gone)
	}
}
