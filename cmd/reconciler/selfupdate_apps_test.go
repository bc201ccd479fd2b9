package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/svctest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// appsAgentService is a `run --apps-dir` agent run as systemd runs
// reconciler-apps.service, with two example apps (web, api) of one deploy
// repo, which also holds the agent's file. Its agentService's dir is the
// apps dir (what the agent's command line names).
type appsAgentService struct {
	*agentService
	apps map[string]*fixtureApp
}

// startAppsAgentService starts it on bin, with extra arguments after the
// test's own (a later value of a flag wins).
func startAppsAgentService(t *testing.T, bin string, extra ...string) *appsAgentService {
	t.Helper()
	return startAppsAgentServiceWith(t, bin, nil, extra...)
}

// startAppsAgentServiceWith is startAppsAgentService with more lines in
// the app files, by app name.
func startAppsAgentServiceWith(t *testing.T, bin string, appEnv map[string]string, extra ...string) *appsAgentService {
	t.Helper()
	return startAppsAgentServiceOn(t, bin, (*deployRepo).URL, appEnv, extra...)
}

// startAppsAgentServiceOn is startAppsAgentServiceWith on the URL of the
// deploy repo that url returns (its path; or a server's of it).
func startAppsAgentServiceOn(t *testing.T, bin string, url func(*deployRepo) string, appEnv map[string]string, extra ...string) *appsAgentService {
	t.Helper()
	a := &appsAgentService{agentService: &agentService{d: newDeployRepo(t), dir: t.TempDir(),
		agentDir: filepath.Join(t.TempDir(), "agent"), listen: freeAddr(t), log: &syncBuffer{}}, apps: map[string]*fixtureApp{}}
	repoURL := url(a.d)
	for _, name := range []string{"web", "api"} {
		app := &fixtureApp{name: name, dir: t.TempDir(), addr: freeAddr(t), d: a.d, repoURL: repoURL}
		killApps(t, app.dir)
		a.apps[name] = app
		f := appsFixture{apps: a.apps}
		f.release(t, name, "1", nil)
		env := fmt.Sprintf("RECONCILER_REPO=%s\nRECONCILER_PATH=%s/current.conf\nRECONCILER_DIR=%s\nRECONCILER_HEALTH_URL=http://%s/healthz\n%s",
			app.repoURL, name, app.dir, app.addr, appEnv[name])
		testkit.WriteFileAtomic(t, filepath.Join(a.dir, name+".env"), env)
	}
	v1, _ := os.ReadFile(bin)
	a.publishAgent("1", v1)
	args := []string{"run", "--apps-dir", a.dir, "--cache-dir", t.TempDir(), "--schedule", "@every 1s",
		"--listen", a.listen, "--health-timeout", "10s", "--agent-repo", repoURL, "--agent-path", "agent.conf",
		"--agent-dir", a.agentDir, "--agent-confirm-timeout", "10s", "--log-format", "json"}
	a.startService(t, bin, append(args, extra...), t.TempDir())
	waitLong(t, "apps web and api on 1, agent 1", func() bool {
		return a.answer("web", "1") && a.answer("api", "1") && a.reports("1")
	})
	return a
}

func (a *appsAgentService) answer(app, v string) bool {
	return strings.HasPrefix(testkit.Answer(a.apps[app].addr), "exampleapp "+v+":")
}

// pids are the apps' pids by name.
func (a *appsAgentService) pids(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, app := range a.apps {
		out[name] = readPID(t, app.dir)
	}
	return out
}

// TestAppsAgentUpdatesItself: a `run --apps-dir` agent with two apps
// under load, under a systemd-like supervisor, follows its file (its
// --agent-repo): 1 -> 2 is a handover (the new agent reports 2 and runs
// from --agent-dir, the main pid moved, no start by the supervisor, both
// apps kept their pids and lost no request, /metrics answered
// throughout, each app polls again under the new agent); then a release
// that exits at once is recorded failed and agent 2 carries on. The
// agent's own --notify-url gets agent_updated and agent_failed once each
// (not once per app), and status (--apps-dir, --dir of an app, GET
// /status) shows the agent, then its failed release, as under --dir.
func TestAppsAgentUpdatesItself(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	recv := testkit.NewReceiver()
	t.Cleanup(recv.Close)
	a := startAppsAgentService(t, bin1, "--notify-url", recv.URL)
	pids, first := a.pids(t), a.svc.MainPID()
	loads := map[string]*loadgen.Loop{}
	for name, app := range a.apps {
		loads[name] = loadgen.Start(t.Context(), loadgen.Options{URL: "http://" + app.addr + "/", Workers: 2})
	}
	probe := svctest.StartProbe("http://"+a.listen+"/metrics", 5*time.Millisecond)
	v2, _ := os.ReadFile(bin2)
	a.publishAgent("2", v2)
	start := time.Now()
	waitLong(t, "agent 2 reporting", func() bool { return a.reports("2") })
	took := time.Since(start)
	pr := probe.Stop()
	for name, l := range loads {
		res := l.Stop()
		t.Logf("app %s during the handover: %s", name, res)
		if res.Failed != 0 || res.OK < 20 {
			t.Errorf("app %s's load across the agent's handover: %s (%v), want 0 failed of a real load", name, res, res.Errors)
		}
	}
	t.Logf("agent 1 -> 2 reported after %s; /metrics %d ok, %d failed, longest gap %s", took, pr.OK, pr.Failed, pr.MaxGap)
	if pr.Failed != 0 {
		t.Errorf("/metrics during the handover: %d failed (first: %v), want every probe answered", pr.Failed, pr.FirstErr)
	}
	if got := a.pids(t); fmt.Sprint(got) != fmt.Sprint(pids) {
		t.Errorf("apps' pids after the agent's update: got %v, want %v (untouched)", got, pids)
	}
	second := a.assertHandedOver(t, first, "2")
	waitFor(t, "agent_updated 1 -> 2 delivered", func() bool { return a.notified(recv, "agent_updated", "1", "2") })
	a.assertAgentStatus(t, "2", second, "")
	// Each app runs under the new agent: a release of web is deployed.
	f := appsFixture{apps: a.apps}
	f.release(t, "web", "2", nil)
	waitLong(t, "web 2 deployed by agent 2", func() bool { return a.answer("web", "2") })
	var updated []notify.Body
	for _, b := range events(t, recv) {
		if b.Event == "agent_updated" {
			updated = append(updated, b)
		}
	}
	if len(updated) != 1 || updated[0].Dir != a.dir || updated[0].FromVersion != "1" || updated[0].ToVersion != "2" {
		t.Errorf("agent_updated: %+v, want one notification 1 -> 2 of the agent (dir %s), not one per app", updated, a.dir)
	}

	a.publishAgent("3", []byte("#!/bin/sh\nexit 3\n"))
	waitLong(t, "agent 3 recorded failed", func() bool {
		return sum(a.metrics(), "reconciler_agent_failed_info", `version="3"`) == 1
	})
	if !a.reports("2") || a.svc.MainPID() != second || a.svc.Starts() != 1 || readPID(t, a.apps["api"].dir) != pids["api"] {
		t.Errorf("after a failed agent 3: agent 2 reporting %v, main pid %d (want %d), %d starts (want 1), api pid %d (want %d)",
			a.reports("2"), a.svc.MainPID(), second, a.svc.Starts(), readPID(t, a.apps["api"].dir), pids["api"])
	}
	waitFor(t, "agent_failed 2 -> 3 delivered", func() bool { return a.notified(recv, "agent_failed", "2", "3") })
	a.assertAgentStatus(t, "2", second, "3")
}

// assertAgentStatus checks that the agent's status says version v, pid
// pid and, unless "", the release failed recorded failed: in `status
// --apps-dir` (once, after the apps), in GET /status (once, and in every
// app's), and in `status --dir` of each app.
func (a *appsAgentService) assertAgentStatus(t *testing.T, v string, pid int, failed string) {
	t.Helper()
	line := fmt.Sprintf("version %s (pid %d, built from ", v, pid)
	var out string
	waitFor(t, "status --apps-dir showing agent "+v, func() bool {
		out, _, _ = runCLI(t, "status", "--apps-dir", a.dir)
		return strings.Count(out, "\nagent:") == 1 && strings.Contains(out, line) &&
			(failed == "" || strings.Contains(out, "\nagent failed: version "+failed+": "))
	})
	var st agenthost.AppsStatus
	resp, err := http.Get("http://" + a.listen + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Agent == nil || st.Agent.Version != v || st.Agent.PID != pid || (failed != "" && st.Agent.Failed[failed] == "") {
		t.Errorf("GET /status agent: %+v, want version %s, pid %d, failed %q", st.Agent, v, pid, failed)
	}
	for _, app := range st.Apps {
		if app.Status == nil || app.Status.Agent == nil || app.Status.Agent.Version != v {
			t.Errorf("GET /status app %s: agent %+v, want version %s", app.Name, app.Status, v)
		}
	}
	for name, app := range a.apps {
		if out, _, _ := runCLI(t, "status", "--dir", app.dir); !strings.Contains(out, "\nagent:") || !strings.Contains(out, line) {
			t.Errorf("status --dir of app %s:\n%s\nwant the agent: %s", name, out, line)
		}
	}
}

// TestAppsAgentServesUntilItsAppsLetGo: at a handover under --apps-dir
// the old agent answers /metrics until every app has let go of its
// directory, as under --dir: with an app whose stop takes 5 s (a
// notification its receiver never answers, flushed for up to
// notifyFlush), /metrics has no gap of that length and no probe fails.
func TestAppsAgentServesUntilItsAppsLetGo(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	var held atomic.Int32
	hold := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held.Add(1)
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold); receiver.Close() }) // after the service's cleanup
	a := startAppsAgentServiceWith(t, bin1, map[string]string{"api": "RECONCILER_NOTIFY_URL=" + receiver.URL + "\n"})
	waitFor(t, "api's first notification held by its receiver", func() bool { return held.Load() > 0 })
	probe := svctest.StartProbe("http://"+a.listen+"/metrics", 5*time.Millisecond)
	a.publishAgent("2", mustRead(t, bin2))
	start := time.Now()
	waitLong(t, "agent 2 reporting", func() bool { return a.reports("2") })
	took, pr := time.Since(start), probe.Stop()
	t.Logf("agent 1 -> 2 reported after %s; /metrics %d ok, %d failed, longest gap %s", took, pr.OK, pr.Failed, pr.MaxGap)
	if took < notifyFlush {
		t.Fatalf("the handover took %s, want at least %s: api's stop did not wait for its notification (the test's premise)", took, notifyFlush)
	}
	if pr.Failed != 0 || pr.MaxGap > 2*time.Second {
		t.Errorf("/metrics during a handover whose apps stop in %s: %d failed (first: %v), longest gap %s; want every probe answered, no gap of the apps' stop",
			notifyFlush, pr.Failed, pr.FirstErr, pr.MaxGap)
	}
}

// TestAppsAgentReadsItsFileOnRequest: a `run --apps-dir` agent that polls
// hourly reads its file at POST /reconcile (of every app) and at SIGHUP,
// as `run --dir` does: each updates it at once.
func TestAppsAgentReadsItsFileOnRequest(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	a := startAppsAgentService(t, bin1, "--schedule", "@every 1h")
	store, err := agentdir.Open(a.agentDir)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent's first read of its file", func() bool { rec, err := store.Record(); return err == nil && rec.Named == "1" })
	a.publishAgent("2", mustRead(t, bin2))
	resp, err := http.Post("http://"+a.listen+"/reconcile", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /reconcile: %s, want 202", resp.Status)
	}
	waitLong(t, "agent 2 after POST /reconcile", func() bool { return a.reports("2") })

	a.d.Git("revert", "--no-edit", "HEAD") // back to 1
	if err := syscall.Kill(a.svc.MainPID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "agent 1 after SIGHUP", func() bool { return a.reports("1") })
	if a.svc.Starts() != 1 {
		t.Errorf("%d starts by the supervisor, want 1 (each update a handover)", a.svc.Starts())
	}
}

// TestAppsAgentUpdateNeedsAgentRepo: under --apps-dir, an agent with no
// --repo of its own must be given --agent-repo.
func TestAppsAgentUpdateNeedsAgentRepo(t *testing.T) {
	_, errOut, code := runCLI(t, "run", "--apps-dir", t.TempDir(), "--agent-path", "agent.conf")
	if code != 2 || !strings.Contains(errOut, "--agent-repo is required") {
		t.Errorf("run --apps-dir --agent-path without a repo: exit %d, %q; want 2 and --agent-repo is required", code, errOut)
	}
}

// TestAppsAgentHandoverKilled: SIGKILL of the old or of the new `run
// --apps-dir` agent at a random moment of a handover, 10 times
// (alternating 1 -> 2 and 2 -> 1): afterwards exactly one agent runs, the
// main pid, on a verified binary, and both apps kept their pids and links.
func TestAppsAgentHandoverKilled(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	a := startAppsAgentService(t, bin1)
	pids := a.pids(t)
	a.killDuringHandovers(t, 10, bin1, bin2, func(i int) {
		if got := a.pids(t); fmt.Sprint(got) != fmt.Sprint(pids) {
			t.Fatalf("run %d: apps' pids %v, want %v", i, got, pids)
		}
		for _, app := range a.apps {
			assertLinks(t, app.dir, "1")
		}
	})
}
