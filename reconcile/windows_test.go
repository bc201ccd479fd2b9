package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/window"
)

// recordNotifier keeps the events it is told about.
type recordNotifier struct {
	mu     sync.Mutex
	events []Event
}

func (n *recordNotifier) Notify(ev Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, ev)
}

func (n *recordNotifier) kinds(k EventKind) []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Event
	for _, ev := range n.events {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// windowed is an app directory whose engine downloads its binaries from a
// real HTTP server that counts requests, with an office window (09:00 to
// 17:00 UTC) and a clock the test sets.
type windowed struct {
	t     *testing.T
	l     Layout
	repo  *fakeRepo
	srv   *httptest.Server
	hits  sync.Map // path -> *atomic.Int64
	clock time.Time
	note  *recordNotifier
	sw    *fakeSwitcher
	reg   *prometheus.Registry
	m     *Metrics
}

func newWindowed(t *testing.T) *windowed {
	w := &windowed{t: t, l: Layout{Dir: t.TempDir()}, note: &recordNotifier{}, reg: prometheus.NewRegistry()}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n, _ := w.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		fmt.Fprint(rw, binBody(strings.TrimPrefix(r.URL.Path, "/app-")))
	}))
	t.Cleanup(w.srv.Close)
	w.repo = &fakeRepo{files: map[string]string{}}
	w.sw = &fakeSwitcher{dir: w.l.Dir}
	w.m = NewMetrics(w.reg, nil)
	return w
}

// gauge reads a gauge of the engine's metrics as /metrics would serve it.
func (w *windowed) gauge(name string) float64 {
	fams, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	w.t.Fatalf("no metric %s", name)
	return 0
}

func binBody(v string) string { return "#!/bin/sh\necho " + v + "\n" }

// commit points the head at a new revision that deploys version v.
func (w *windowed) commit(rev, v string) {
	sum := sha256.Sum256([]byte(binBody(v)))
	w.repo.head = rev
	w.repo.files["current.conf"] = fmt.Sprintf(`{"version": %q, "bin": {"url": "%s/app-%s", "sha256": %q}}`, v, w.srv.URL, v, hex.EncodeToString(sum[:]))
}

func (w *windowed) requests(v string) int64 {
	n, ok := w.hits.Load("/app-" + v)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// engine returns a new engine on the directory, as a restarted agent has.
func (w *windowed) engine(allow ...string) *Engine {
	var set window.Set
	for _, spec := range allow {
		win, err := window.Parse(spec)
		if err != nil {
			w.t.Fatal(err)
		}
		set.Allow = append(set.Allow, win)
	}
	e := &Engine{Layout: w.l, Path: "current.conf", Repo: w.repo, Switcher: w.sw, Notify: w.note, Metrics: w.m,
		Download: &artifacts.Fetcher{Client: artifacts.NewClient(nil)}, Now: func() time.Time { return w.clock }}
	if len(allow) > 0 {
		e.Windows = set
	}
	return e
}

func (w *windowed) link() string {
	got, _ := os.Readlink(filepath.Join(w.l.Dir, "app.bin"))
	return got
}

const (
	rev1   = "1111111111111111111111111111111111111111"
	rev2   = "2222222222222222222222222222222222222222"
	office = "CRON_TZ=UTC 0 9 * * * 8h"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDeferredOutsideWindow: 1.0 runs; 2.0 is committed after hours. The
// passes until the window opens download nothing, switch nothing, say when
// it opens, and tell once (across a restart of the agent too); the first
// pass inside deploys.
func TestDeferredOutsideWindow(t *testing.T) {
	w := newWindowed(t)
	w.commit(rev1, "1.0")
	w.clock = at("2026-12-04T10:00:00Z")
	if out, err := w.engine(office).Sync(t.Context()); err != nil || out.Result != PollApplied {
		t.Fatalf("inside the window: got %s, %v; want 1.0 applied", out.Result, err)
	}

	w.commit(rev2, "2.0")
	for i, clock := range []string{"2026-12-04T17:00:00Z", "2026-12-04T23:00:00Z", "2026-12-05T08:59:59Z"} {
		w.clock = at(clock)
		e := w.engine(office) // each pass a new engine: what it knows, it knows from the state file
		out, err := e.Sync(t.Context())
		if !errors.Is(err, ErrDeferred) || out.Result != PollDeferred {
			t.Fatalf("pass %d at %s: got %s, %v; want deferred", i, clock, out.Result, err)
		}
		if want := at("2026-12-05T09:00:00Z"); !out.Opens.Equal(want) || !strings.Contains(err.Error(), "2026-12-05T09:00:00Z") {
			t.Errorf("pass %d: opens %s, error %q; want %s in both", i, out.Opens, err, want)
		}
		if _, err := os.Stat(w.l.BinFile("2.0")); !os.IsNotExist(err) || w.requests("2.0") != 0 {
			t.Errorf("pass %d: release/app.2.0 (%v), %d requests; want nothing downloaded", i, err, w.requests("2.0"))
		}
		if w.link() != w.l.BinFile("1.0") || w.sw.switches != 1 {
			t.Errorf("pass %d: app.bin -> %s after %d switches; want 1.0, switched once (the first deploy)", i, w.link(), w.sw.switches)
		}
		if got := w.gauge("reconciler_deferred"); got != 1 {
			t.Errorf("pass %d: reconciler_deferred %v, want 1", i, got)
		}
	}
	if ev := w.note.kinds(EventDeferred); len(ev) != 1 || ev[0].Revision != rev2 || ev[0].FromVersion != "1.0" || ev[0].ToVersion != "2.0" ||
		ev[0].Error != "outside the deploy windows; they open at 2026-12-05T09:00:00Z (in 16h0m0s)" {
		t.Errorf("got deferred events %+v, want one, 1.0 -> 2.0 at %s, saying when the windows open", ev, short(rev2))
	}
	st, _ := w.l.LoadState()
	s, _ := w.l.ReadStatus()
	if st.Applied.Revision != rev1 || st.LastError != nil || s.Deferred == nil || s.Deferred.Version != "2.0" || !s.Deferred.Since.Equal(at("2026-12-04T17:00:00Z")) {
		t.Errorf("state while deferred: applied %+v, last error %+v, status deferred %+v; want 1.0 applied, no error, 2.0 deferred since 17:00", st.Applied, st.LastError, s.Deferred)
	}
	var text strings.Builder
	s.Render(&text)
	if !strings.Contains(text.String(), "deferred:    version 2.0 at 222222222222, outside the deploy windows since 2026-12-04T17:00:00Z") {
		t.Errorf("status says:\n%s\nwant a deferred line", text.String())
	}

	w.clock = at("2026-12-05T09:00:00Z")
	out, err := w.engine(office).Sync(t.Context())
	if err != nil || out.Result != PollApplied || w.link() != w.l.BinFile("2.0") || w.requests("2.0") != 1 {
		t.Fatalf("at the window's start: got %s, %v, app.bin -> %s, %d requests; want 2.0 applied, downloaded once", out.Result, err, w.link(), w.requests("2.0"))
	}
	s, _ = w.l.ReadStatus()
	if got := w.gauge("reconciler_deferred"); got != 0 || s.Deferred != nil || len(w.note.kinds(EventDeferred)) != 1 {
		t.Errorf("after the deploy: reconciler_deferred %v, status deferred %+v, %d deferred events; want 0, none, still 1", got, s.Deferred, len(w.note.kinds(EventDeferred)))
	}
}

// TestWindowsHoldOnlyDeploys: outside the window, drift of the applied
// revision is put back, a dead app of the running release is started
// again while a new revision waits, and a first install waits too.
func TestWindowsHoldOnlyDeploys(t *testing.T) {
	w := newWindowed(t)
	w.commit(rev1, "1.0")
	w.clock = at("2026-12-04T02:00:00Z") // closed
	out, err := w.engine(office).Sync(t.Context())
	if !errors.Is(err, ErrDeferred) || w.requests("1.0") != 0 {
		t.Fatalf("first install outside the window: got %s, %v, %d requests; want deferred, nothing downloaded", out.Result, err, w.requests("1.0"))
	}
	w.clock = at("2026-12-04T09:30:00Z")
	if _, err := w.engine(office).Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	w.clock = at("2026-12-04T20:00:00Z") // closed again
	os.Remove(filepath.Join(w.l.Dir, "app.bin"))
	out, err = w.engine(office).Sync(t.Context())
	if err != nil || out.Result != PollApplied || !out.drift || w.link() != w.l.BinFile("1.0") {
		t.Errorf("drift of the applied revision, window closed: got %s, drift %v, %v, app.bin -> %q; want it put back", out.Result, out.drift, err, w.link())
	}

	w.commit(rev2, "2.0")
	os.Remove(filepath.Join(w.l.Dir, "app.bin")) // the app is gone too (the fake runs what app.bin names)
	before := w.sw.switches
	out, err = w.engine(office).Sync(t.Context())
	if !errors.Is(err, ErrDeferred) || w.link() != w.l.BinFile("1.0") || w.sw.switches != before+1 || w.requests("2.0") != 0 {
		t.Errorf("2.0 waits and 1.0 is down: got %s, %v, app.bin -> %q, %d switches; want deferred, 1.0 brought back up, 2.0 not fetched",
			out.Result, err, w.link(), w.sw.switches-before)
	}
}

// TestIgnoreWindows deploys outside the window (sync --ignore-windows).
func TestIgnoreWindows(t *testing.T) {
	w := newWindowed(t)
	w.commit(rev1, "1.0")
	w.clock = at("2026-12-04T02:00:00Z")
	e := w.engine(office)
	e.IgnoreWindows = true
	if out, err := e.Sync(t.Context()); err != nil || out.Result != PollApplied || w.link() != w.l.BinFile("1.0") {
		t.Errorf("--ignore-windows outside the window: got %s, %v; want 1.0 applied", out.Result, err)
	}
	if n := len(w.note.kinds(EventDeferred)); n != 0 {
		t.Errorf("%d deferred events, want none", n)
	}
}

// TestDiffSaysDeferred: diff says what sync would do, a deferral included.
func TestDiffSaysDeferred(t *testing.T) {
	w := newWindowed(t)
	w.commit(rev1, "1.0")
	w.clock = at("2026-12-04T02:00:00Z")
	plan, err := w.engine(office).Diff(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Render(&out)
	if want := "blocked   outside the deploy windows: they open at 2026-12-04T09:00:00Z (in 7h0m0s)"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("diff says:\n%s\nwant it to start with %q", out.String(), want)
	}
	w.clock = at("2026-12-04T10:00:00Z")
	plan, _ = w.engine(office).Diff(t.Context())
	if plan.blockedBy != nil {
		t.Errorf("inside the window: blocked %+v, want nothing", plan.blockedBy)
	}
}
