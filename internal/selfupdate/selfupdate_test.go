package selfupdate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// childEnv makes the test binary, started again, play a successor
// (TestMain): its value says how.
const childEnv = "SELFUPDATE_TEST_CHILD"

// TestMain runs the test binary as a successor when childEnv is set:
// "confirm" (confirms, then serves one HTTP request on the socket it was
// handed and exits 0), "exit" (exits 3 at once), "sleep" (never confirms)
// and "fail-poll" (its confirming poll fails until it is stopped).
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	switch mode {
	case "exit":
		return 3
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	}
	h, err := Inherited()
	if err != nil || h == nil {
		fmt.Fprintln(os.Stderr, "child: no handover:", err)
		return 1
	}
	if os.Getenv(HandoverEnv) != "" {
		fmt.Fprintln(os.Stderr, "child: the handover variable is still set")
		return 1
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	poll := func(context.Context) error { return nil }
	if mode == "fail-poll" {
		poll = func(context.Context) error { return errors.New("repo unreachable") }
	}
	if err := h.Confirm(ctx, poll, log); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 4
	}
	ln, ok, err := h.Listener()
	if !ok || err != nil {
		fmt.Fprintln(os.Stderr, "child: no listener:", ok, err)
		return 5
	}
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "successor %s", os.Getenv(agentdir.ChosenEnv))
		close(done)
	})}
	go srv.Serve(ln)
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
	time.Sleep(100 * time.Millisecond) // the answer written
	return 0
}

// updater returns an Updater on a real agent dir with the test binary
// installed as version "2", set to start it in mode, listening on ln.
func updater(t *testing.T, mode string, ln net.Listener) (*Updater, string) {
	t.Helper()
	store, err := agentdir.Open(filepath.Join(t.TempDir(), "agent"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := artifacts.FileSHA256(self)
	bin, err := store.Install(t.Context(), "2", strings.NewReader(string(data)), sum)
	if err != nil {
		t.Fatal(err)
	}
	u := (&Updater{Store: store, Running: "1", ConfirmTimeout: 20 * time.Second,
		Launch: Launch{Args: []string{"-test.run=^$"}, Env: append(os.Environ(), childEnv+"="+mode), StopGrace: 2 * time.Second}}).Init()
	if ln != nil {
		u.Launch.Listener = ListenerFile(ln)
	}
	return u, bin
}

// notifySocket listens as systemd's NOTIFY_SOCKET and returns what it
// receives.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	got := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	return got
}

// TestHandoverConfirmed: a real successor (this test binary) confirms;
// the version is recorded confirmed, systemd is told MAINPID=<successor>,
// the successor gets go, runs as version 2 without the handover variable,
// and serves on the socket handed over while the old listener is closed.
func TestHandoverConfirmed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	notes := notifySocket(t)
	u, bin := updater(t, "confirm", ln)
	s, err := u.handOver(t.Context(), bin, "2", "abc")
	if err != nil {
		t.Fatalf("handOver: %v", err)
	}
	select {
	case n := <-notes:
		if want := fmt.Sprintf("MAINPID=%d", s.PID()); n != want {
			t.Errorf("notified %q, want %q", n, want)
		}
	case <-time.After(10 * time.Second):
		t.Error("systemd was not told the new main pid")
	}
	ln.Close() // the old agent lets go of its copy
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("the socket handed over does not answer: %v", err)
	}
	body := make([]byte, 64)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if string(body[:n]) != "successor 2" {
		t.Errorf("successor answered %q, want %q", body[:n], "successor 2")
	}
	if err := s.Release(); err != nil { // managed: returns at once
		t.Errorf("Release: %v", err)
	}
	rec, err := u.Store.Record()
	if err != nil || len(rec.Confirmed) != 1 || rec.Confirmed[0].Version != "2" {
		t.Errorf("record: %+v (%v), want 2 confirmed", rec.Confirmed, err)
	}
	if err := <-s.exited; err != nil {
		t.Errorf("successor exited: %v", err)
	}
}

// TestHandoverWithoutServiceManager: with no NOTIFY_SOCKET, Release keeps
// the old process as the successor's stand-in until it exits, with its
// status.
func TestHandoverWithoutServiceManager(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, bin := updater(t, "confirm", ln)
	s, err := u.handOver(t.Context(), bin, "2", "abc")
	if err != nil {
		t.Fatalf("handOver: %v", err)
	}
	ln.Close()
	released := make(chan error, 1)
	go func() { released <- s.Release() }()
	select {
	case err := <-released:
		t.Fatalf("Release returned (%v) while the successor runs", err)
	case <-time.After(200 * time.Millisecond): // a moment to show it waits; not a timed assertion of success
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err != nil {
		t.Fatal(err)
	}
	if err := <-released; err != nil {
		t.Errorf("Release: %v, want the successor's exit 0", err)
	}
}

// TestHandoverFailures: a successor that exits at once, one that never
// confirms, one whose confirming poll keeps failing: each is a *failure
// (the version is to be recorded failed), and the process is gone.
func TestHandoverFailures(t *testing.T) {
	for _, mode := range []string{"exit", "sleep", "fail-poll"} {
		t.Run(mode, func(t *testing.T) {
			notes := notifySocket(t)
			u, bin := updater(t, mode, nil)
			u.ConfirmTimeout = 2 * time.Second
			s, err := u.handOver(t.Context(), bin, "2", "abc")
			var f *failure
			if s != nil || !errors.As(err, &f) {
				t.Fatalf("got %v, %v; want a failure", s, err)
			}
			t.Logf("%s: %v", mode, err)
			select {
			case n := <-notes:
				t.Errorf("systemd was told %q for a successor that failed", n)
			default:
			}
		})
	}
}

// TestPollRecordsFailedAndSkips: Poll on a real repo (file://) and a real
// HTTP artifact server: a release that exits is recorded failed and
// notified once; the next Poll does not download or start it again.
func TestPollRecordsFailedAndSkips(t *testing.T) {
	script := []byte("#!/bin/sh\nexit 3\n")
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++; w.Write(script) }))
	t.Cleanup(srv.Close)
	repo := gittest.NewRepo(t)
	repo.WriteFile("agent.conf", []byte(fmt.Sprintf(`{"version":"2","bin":{"url":%q,"sha256":%q}}`, srv.URL+"/r2", sha(script))))
	repo.Commit("agent 2")
	src, err := gitsrc.New(gitsrc.Options{URL: repo.URL()})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := updater(t, "exit", nil)
	var events []reconcile.Event
	u.Repo, u.Path, u.Download, u.Notify = src, "agent.conf", &artifacts.Fetcher{}, func(e reconcile.Event) { events = append(events, e) }
	for range 3 {
		if s, err := u.Poll(t.Context()); s != nil || err != nil {
			t.Fatalf("Poll: %v, %v", s, err)
		}
	}
	if _, failed, _ := u.Store.Failed("2"); !failed || hits != 1 || len(events) != 1 || events[0].Kind != reconcile.EventAgentFailed {
		t.Errorf("failed %v, %d downloads, events %+v: want recorded failed, one download, one agent_failed", failed, hits, events)
	}
}

// TestObserve: the agent file's rollout is placed with the host id like an
// app's, and a cfg is refused naming the file.
func TestObserve(t *testing.T) {
	repo := gittest.NewRepo(t)
	bin := `{"url":"https://example.com/r","sha256":"` + strings.Repeat("a", 64) + `"}`
	src, err := gitsrc.New(gitsrc.Options{URL: repo.URL()})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := updater(t, "exit", nil)
	u.Repo, u.Path = src, "agent.conf"
	for _, c := range []struct {
		file, host, want, err string
	}{
		{`{"version":"2","bin":` + bin + `}`, "h1", "2", ""},
		{`{"version":"2","bin":` + bin + `,"rollout":{"id":"a2","from":{"version":"1","bin":` + bin + `},"canary":["h1"],"percent":0}}`, "h1", "2", ""},
		{`{"version":"2","bin":` + bin + `,"rollout":{"id":"a2","from":{"version":"1","bin":` + bin + `},"canary":["h1"],"percent":0}}`, "h2", "1", ""},
		{`{"version":"2","bin":` + bin + `,"cfg":{"path":"x"}}`, "h1", "", `agent.conf: invalid desired state: key "cfg"`},
	} {
		repo.WriteFile("agent.conf", []byte(c.file))
		repo.Commit("agent")
		u.HostID = c.host
		_, d, err := u.Observe(t.Context())
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, want an error with %q", c.file, err, c.err)
			}
			continue
		}
		if err != nil || d.Version != c.want {
			t.Errorf("%s on %s: got %q, %v; want %s", c.file, c.host, d.Version, err, c.want)
		}
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestPollReadsTheAppsListingAndVerifiesOnce: with Shared (the agent file
// in the app's repo and ref), a Poll after each poll of the app lists no
// refs of its own and reads the app's cache; the commit's signature is
// checked once per commit, not at every Poll; Observe (the successor's
// confirming poll) lists and verifies itself every time.
func TestPollReadsTheAppsListingAndVerifiesOnce(t *testing.T) {
	repo := gittest.NewRepo(t)
	repo.WriteFile("agent.conf", []byte(`{"version":"1","bin":{"url":"https://example.com/r","sha256":"`+strings.Repeat("a", 64)+`"}}`))
	repo.Commit("agent 1")
	srv := repo.ServeHTTP(t)
	shared, err := gitsrc.NewShared(gitsrc.Options{URL: srv.URL, CacheDir: filepath.Join(t.TempDir(), "git")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	own, err := gitsrc.New(gitsrc.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	app := shared.Handle()
	verified := map[string]int{}
	verify := func(_ context.Context, rev string) error { verified[rev]++; return nil }
	u, _ := updater(t, "exit", nil)
	u.Repo, u.Verify, u.Path = own, verify, "agent.conf"
	u.Shared = &Reading{Repo: shared.Follower(), Verify: verify}
	appPoll := func() string {
		t.Helper()
		head, err := app.Head(t.Context())
		if err == nil {
			_, err = app.Fetch(t.Context(), head)
		}
		if err != nil {
			t.Fatal(err)
		}
		return head
	}
	var revs []string
	for i := range 6 {
		if i == 3 {
			repo.WriteFile("other", []byte("x"))
			repo.Commit("another app")
		}
		revs = append(revs, appPoll())
		if s, err := u.Poll(t.Context()); s != nil || err != nil {
			t.Fatalf("Poll: %v, %v", s, err)
		}
	}
	st := srv.Stats()
	// The app's alone: 6 listings, and 2 fetches (the first, the move),
	// each with the ls-refs a v2 fetch sends before it.
	if st.RefListings != 8 || st.UploadPacks != 2 {
		t.Errorf("6 polls of the app, each followed by the agent's: %d ref listings, %d fetches; want 8 and 2 (the app's)", st.RefListings, st.UploadPacks)
	}
	if n := u.Shared.Repo.(*gitsrc.Handle).Stats(); n != (gitsrc.Stats{}) {
		t.Errorf("the agent's own calls to the git host: %+v, want none", n)
	}
	if len(verified) != 2 || verified[revs[0]] != 1 || verified[revs[5]] != 1 {
		t.Errorf("signature checks per commit: got %v, want one for each of %.12s and %.12s", verified, revs[0], revs[5])
	}
	for range 2 {
		if _, _, err := u.Observe(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// Each lists; the first fetches into its own memory too (ls-refs, fetch).
	if got := srv.Stats().RefListings - st.RefListings; got != 3 || verified[revs[5]] != 3 {
		t.Errorf("2 confirming polls: %d ref listings, %d checks of the head; want 3 and 3", got, verified[revs[5]])
	}
}
