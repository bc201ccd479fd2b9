package agenthost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// The tests run real engines (gitsrc on a real deploy repo, artifacts, a
// restart.Switcher that moves the links: --restart none, so no process is
// started) behind the real endpoints on 127.0.0.1.

// deployRepo is a deploy repo whose release is a binary committed in it.
type deployRepo struct{ *gittest.Repo }

func newDeployRepo(t *testing.T) *deployRepo {
	r := &deployRepo{gittest.NewRepo(t)}
	r.release("1")
	return r
}

// release commits version v of the desired file, its binary in the repo.
func (r *deployRepo) release(v string) {
	r.WriteFile("bin/app", []byte("#!/bin/sh\necho "+v+"\n"))
	r.WriteFile("current.conf", fmt.Appendf(nil, `{"version": %q, "bin": {"path": "bin/app"}}`, v))
	r.Commit("version " + v)
}

// newEngine is an engine of the app directory of layout on repo; m may be
// nil.
func newEngine(layout reconcile.Layout, repo reconcile.Repo, m *reconcile.Metrics) *reconcile.Engine {
	return &reconcile.Engine{Layout: layout, Path: "current.conf", Repo: repo, Download: &artifacts.Fetcher{},
		Switcher: &restart.Switcher{Dir: layout.Dir, Mode: restart.ModeNone, Reaped: &restart.Reaped{}, Log: discard},
		Log:      discard, Keep: 5, HostID: "test", Metrics: m}
}

var discard = slog.New(slog.DiscardHandler)

// listen is a listener on a free loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitFor polls cond until it holds (testkit.WaitFor, 30 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitForWithin(t, 30*time.Second, what, cond)
}

// runUntilCleanup runs f in a goroutine until the test ends, then checks
// that it returned nil once its context ended.
func runUntilCleanup(t *testing.T, f func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("after its context ended: got %v, want nil", err)
		}
	})
}

// client talks to the endpoints at addr.
type client struct {
	t    *testing.T
	addr string
}

// do sends a request and returns the status code and the body.
func (c client) do(method, path string, body []byte, header map[string]string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://"+c.addr+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

func (c client) get(path string) (int, string) { return c.do(http.MethodGet, path, nil, nil) }

// post is POST /reconcile+query with body signed by secret (nil: unsigned).
func (c client) post(query string, body, secret []byte) (int, string) {
	h := map[string]string{}
	if secret != nil {
		h["X-Hub-Signature-256"] = sign(secret, body)
	}
	return c.do(http.MethodPost, "/reconcile"+query, body, h)
}

// metric is the sum of a family's samples whose labels hold every one of
// labels, as GET /metrics shows them.
func (c client) metric(family string, labels ...string) float64 {
	c.t.Helper()
	code, text := c.get("/metrics")
	if code != http.StatusOK {
		c.t.Fatalf("GET /metrics: %d", code)
	}
	re := regexp.MustCompile(`(?m)^` + family + `(\{[^}]*\})? (\S+)$`)
	total := 0.0
next:
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		for _, l := range labels {
			if !strings.Contains(m[1], l) {
				continue next
			}
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		total += v
	}
	return total
}

// version is the applied version GET /status reports for one app
// (app "") or the app called app.
func (c client) version(app string) string {
	c.t.Helper()
	code, text := c.get("/status")
	if code != http.StatusOK {
		return ""
	}
	if app == "" {
		var st reconcile.Status
		if err := json.Unmarshal([]byte(text), &st); err != nil {
			c.t.Fatalf("GET /status: %v", err)
		}
		return st.Version
	}
	for _, a := range c.apps().Apps {
		if a.Name == app && a.Status != nil {
			return a.Version
		}
	}
	return ""
}

// apps is GET /status of many apps.
func (c client) apps() AppsStatus {
	c.t.Helper()
	_, text := c.get("/status")
	var st AppsStatus
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		c.t.Fatalf("GET /status: %v: %s", err, text)
	}
	return st
}
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	testkit.WriteFileAtomic(t, path, data)
}
