package main

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// quiet waits until f's value has not changed for settle, and returns it:
// what a server counted once the agent's poll and its updater's look after
// it are over.
func quiet(t *testing.T, settle time.Duration, f func() int64) int64 {
	t.Helper()
	v, since := f(), time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for time.Since(since) < settle {
		if time.Now().After(deadline) {
			t.Fatalf("the count did not settle in 60 s (now %d)", v)
		}
		time.Sleep(50 * time.Millisecond)
		if n := f(); n != v {
			v, since = n, time.Now()
		}
	}
	return v
}

// TestAgentPathCostsOneListingPerPoll: an agent with --agent-path whose
// agent file is in the app's repo and ref, over a real smart-HTTP git
// server, costs the git host one ref listing per poll, as an agent without
// --agent-path does (before, the updater listed the same ref again after
// each poll: 2 per poll); a commit of the agent file is still followed
// after the one poll that saw it (POST /reconcile, the schedule hourly).
func TestAgentPathCostsOneListingPerPoll(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	a := &agentService{d: newDeployRepo(t), dir: t.TempDir(), agentDir: filepath.Join(t.TempDir(), "agent"),
		addr: freeAddr(t), listen: freeAddr(t), log: &syncBuffer{}}
	killApps(t, a.dir)
	a.d.releaseApp(t, "1", a.addr, nil)
	a.publishAgent("1", mustRead(t, bin1))
	srv := a.d.ServeHTTP(t)
	a.startService(t, bin1, []string{"run", "--repo", srv.URL, "--path", "web/current.conf", "--dir", a.dir,
		"--schedule", "@every 1h", "--listen", a.listen, "--health-url", "http://" + a.addr + "/healthz",
		"--agent-path", "agent.conf", "--agent-dir", a.agentDir, "--agent-confirm-timeout", "10s", "--log-format", "json"}, a.dir)
	waitLong(t, "agent 1 after its first poll", func() bool { return a.reports("1") && a.polls() >= 1 })
	listings := func() int64 { return srv.Stats().RefListings }
	l0, p0 := quiet(t, 1500*time.Millisecond, listings), a.polls()
	const n = 5
	for i := range n {
		post(t, "http://"+a.listen+"/reconcile")
		waitLong(t, "a poll", func() bool { return a.polls() >= p0+float64(i+1) })
	}
	if got := quiet(t, 1500*time.Millisecond, listings) - l0; got != n || a.polls() != p0+n {
		t.Errorf("%v polls of an agent with --agent-path: %d ref listings, want %d (one per poll)", a.polls()-p0, got, n)
	}
	a.publishAgent("2", mustRead(t, bin2))
	post(t, "http://"+a.listen+"/reconcile")
	waitLong(t, "agent 2 after the one poll that saw its commit", func() bool { return a.reports("2") })
}

// TestAppsAgentPathCostsOneListingPerPoll: under run --apps-dir, the
// agent's read of its own file (in its apps' repo and ref) and the polls
// of its two apps, at a POST /reconcile, cost the git host one ref listing
// (before: the apps' shared one, and the agent's own); a commit of the
// agent file is followed after the one POST that made it seen.
func TestAppsAgentPathCostsOneListingPerPoll(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	var srv *gittest.HTTPServer
	serve := func(d *deployRepo) string { srv = d.ServeHTTP(t); return srv.URL }
	a := startAppsAgentServiceOn(t, bin1, serve, nil, "--schedule", "@every 1h")
	listings := func() int64 { return srv.Stats().RefListings }
	l0, p0 := quiet(t, 1500*time.Millisecond, listings), a.polls()
	const n = 5
	for i := range n {
		post(t, "http://"+a.listen+"/reconcile")
		waitLong(t, "a poll of each app", func() bool { return a.polls() >= p0+2*float64(i+1) })
		quiet(t, 700*time.Millisecond, listings) // the agent's read, which has no counter of its own
	}
	if got := quiet(t, 1500*time.Millisecond, listings) - l0; got != n || a.polls() != p0+2*n {
		t.Errorf("%v polls of 2 apps and the agent's reads after %d POST /reconcile: %d ref listings, want %d (one per POST)", a.polls()-p0, n, got, n)
	}
	a.publishAgent("2", mustRead(t, bin2))
	post(t, "http://"+a.listen+"/reconcile")
	waitLong(t, "agent 2 after the one POST that made its commit seen", func() bool { return a.reports("2") })
}

// post POSTs to url and fails the test unless it answers 2xx.
func post(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}
