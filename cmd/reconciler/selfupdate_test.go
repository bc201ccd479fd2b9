package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/svctest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
	"golang.org/x/crypto/ssh"
)

// agentService is an agent run as systemd runs reconciler@.service
// (Type=notify, NotifyAccess=all, KillMode=process, Restart=on-failure),
// with an app under it.
type agentService struct {
	d                   *deployRepo
	dir, agentDir, addr string
	listen              string
	svc                 *svctest.Service
	log                 *syncBuffer
}

// serviceEnv is this process's environment without RECONCILER_* settings.
func serviceEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RECONCILER_") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			env = append(env, kv)
		}
	}
	return env
}

// publishAgent puts the agent binary data on the artifact server as
// version v and commits the agent file naming it.
func (a *agentService) publishAgent(v string, data []byte) string {
	url, digest := a.d.art.put("/agent-"+v, data)
	a.d.WriteFile("agent.conf", []byte(fmt.Sprintf(`{"version": %q, "bin": {"url": %q, "sha256": %q}}`, v, url, digest)))
	return a.d.Commit("agent " + v)
}

// signHead commits nothing, signed with the SSH key in keyFile.
func (a *agentService) signHead(keyFile string) {
	a.d.Git("-c", "gpg.format=ssh", "-c", "user.signingkey="+keyFile, "commit", "-q", "--allow-empty", "-S", "-m", "signed")
}

func startAgentService(t *testing.T, bin string, extra ...string) *agentService {
	t.Helper()
	return startSignedAgentService(t, bin, "", extra...)
}

// startSignedAgentService is startAgentService whose deploy repo's head
// is signed with the SSH key in keyFile ("": unsigned).
func startSignedAgentService(t *testing.T, bin, keyFile string, extra ...string) *agentService {
	t.Helper()
	a := &agentService{d: newDeployRepo(t), dir: t.TempDir(), agentDir: filepath.Join(t.TempDir(), "agent"),
		addr: freeAddr(t), listen: freeAddr(t), log: &syncBuffer{}}
	killApps(t, a.dir)
	a.d.releaseApp(t, "1", a.addr, nil)
	v1, _ := os.ReadFile(bin)
	a.publishAgent("1", v1)
	if keyFile != "" {
		a.signHead(keyFile)
	}
	args := append([]string{"run", "--repo", a.d.URL(), "--path", "web/current.conf", "--dir", a.dir,
		"--schedule", "@every 1s", "--listen", a.listen, "--health-url", "http://" + a.addr + "/healthz",
		"--agent-path", "agent.conf", "--agent-dir", a.agentDir, "--agent-confirm-timeout", "10s", "--log-format", "json"}, extra...)
	a.startService(t, bin, args, a.dir)
	return a
}

// startService runs bin with args (an agent whose command line names
// a.dir) under the test supervisor, as systemd runs the agent's unit, in
// the working directory wd. The cleanup stops it and ends whatever agent
// of a.dir is left.
func (a *agentService) startService(t *testing.T, bin string, args []string, wd string) {
	t.Helper()
	svc, err := svctest.Start(svctest.Options{Path: bin, Args: args, Env: serviceEnv(), Dir: wd,
		Stdout: a.log, Stderr: a.log, Log: a.log, SocketDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.svc = svc
	t.Cleanup(func() {
		if err := svc.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		for _, pid := range svc.Mains() { // a successor that failed is its parent's to end; make sure
			if procfs.Alive(pid) {
				t.Errorf("agent pid %d still runs after the service stopped", pid)
			}
		}
		// Whatever a failed test left (a successor the supervisor lost):
		// an agent of this test's directory, on this test's binary or a
		// release of its agent dir, is ours to end.
		deadline := time.Now().Add(5 * time.Second) // a successor its parent is still ending
		for len(a.agentProcs(bin)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		for pid := range a.agentProcs(bin) {
			t.Errorf("agent pid %d of %s still runs after the service stopped: killed", pid, a.dir)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() || os.Getenv("SELFUP_LOG") != "" {
			t.Logf("agent log:\n%s", a.log.String())
		}
	})
}

// metrics returns the agent's /metrics ("" when it does not answer).
func (a *agentService) metrics() string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + a.listen + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// agentVersion is the version /metrics says the agent runs.
func (a *agentService) reports(v string) bool {
	return sum(a.metrics(), "reconciler_agent_info", `version="`+v+`"`) == 1
}

func (a *agentService) polls() float64 { return sum(a.metrics(), "reconciler_polls_total") }

// TestAgentUpdatesItself: an agent under a systemd-like supervisor, with an
// app under load, follows its file of the deploy repo: 1 -> 2 is a
// handover (the new agent reports 2, the main pid moved, the old one
// exited, the supervisor started nothing, the app kept its pid, no request
// failed, /metrics answered throughout); a revert goes back to 1 and a
// revert of the revert to 2 without downloading 2 again.
func TestAgentUpdatesItself(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	recv := testkit.NewReceiver()
	t.Cleanup(recv.Close)
	a := startAgentService(t, bin1, "--notify-url", recv.URL)
	waitLong(t, "app 1 and agent 1", func() bool {
		return strings.HasPrefix(testkit.Answer(a.addr), "exampleapp 1:") && a.reports("1")
	})
	appPID, first := readPID(t, a.dir), a.svc.MainPID()

	load := loadgen.Start(t.Context(), loadgen.Options{URL: "http://" + a.addr + "/", Workers: 3})
	probe := svctest.StartProbe("http://"+a.listen+"/metrics", 5*time.Millisecond)
	v2, _ := os.ReadFile(bin2)
	a.publishAgent("2", v2)
	start := time.Now()
	waitLong(t, "agent 2 reporting", func() bool { return a.reports("2") })
	took := time.Since(start)
	res, pr := load.Stop(), probe.Stop()
	t.Logf("agent 1 -> 2: reported after %s; app load %s; /metrics %d ok, %d failed, longest gap %s",
		took, res, pr.OK, pr.Failed, pr.MaxGap)
	if res.Failed != 0 || res.OK < 20 {
		t.Errorf("app load across the agent's handover: %s (%v), want 0 failed of a real load", res, res.Errors)
	}
	if pr.Failed != 0 {
		t.Errorf("/metrics during the handover: %d failed (first: %v), want every probe answered", pr.Failed, pr.FirstErr)
	}
	if got := readPID(t, a.dir); got != appPID {
		t.Errorf("app pid after the agent's update: got %d, want %d (untouched)", got, appPID)
	}
	second := a.assertHandedOver(t, first, "2")
	waitFor(t, "agent_updated 1 -> 2 delivered", func() bool { return a.notified(recv, "agent_updated", "1", "2") })
	var st reconcile.Status
	waitFor(t, "/status showing agent 2", func() bool {
		st = a.status(t)
		return st.Agent != nil && st.Agent.Version == "2" && st.Agent.PID == second
	})

	a.d.Git("revert", "--no-edit", "HEAD") // back to 1
	waitLong(t, "agent 1 after the revert", func() bool { return a.reports("1") })
	a.d.Git("revert", "--no-edit", "HEAD") // and to 2 again
	waitLong(t, "agent 2 after reverting the revert", func() bool { return a.reports("2") })
	if n := a.d.art.hitCount("/agent-2"); n != 1 {
		t.Errorf("agent 2 downloaded %d times, want once (the revert back to it finds it on disk)", n)
	}
	if got := readPID(t, a.dir); got != appPID || a.svc.Starts() != 1 {
		t.Errorf("after 3 handovers: app pid %d (want %d), %d starts by the supervisor (want 1)", got, appPID, a.svc.Starts())
	}
}

// notified reports whether recv got an event kind from -> to.
// assertHandedOver checks the end of a handover from the main pid first
// to version v: first exits, the main pid moved to a live successor
// running the verified release of --agent-dir, and the supervisor
// started nothing. It returns the new main pid.
func (a *agentService) assertHandedOver(t *testing.T, first int, v string) int {
	t.Helper()
	second := a.svc.MainPID()
	waitFor(t, "the old agent to exit", func() bool { return !procfs.Alive(first) })
	if second == first || !procfs.Alive(second) || a.svc.Starts() != 1 {
		t.Errorf("main pid %d -> %d (alive %v), %d starts by the supervisor: want the main pid moved to a live successor and 1 start",
			first, second, procfs.Alive(second), a.svc.Starts())
	}
	if exe, _ := procfs.Exe(second); exe != filepath.Join(a.agentDir, "versions", v, "reconciler") {
		t.Errorf("the new agent runs %s, want the verified release %s in --agent-dir", exe, v)
	}
	return second
}

func (a *agentService) notified(recv *testkit.Receiver, kind, from, to string) bool {
	for _, r := range recv.Delivered() {
		var m map[string]any
		if json.Unmarshal(r.Body, &m) == nil && m["event"] == kind && m["from_version"] == from && m["to_version"] == to {
			return true
		}
	}
	return false
}

// status is the agent's GET /status.
func (a *agentService) status(t *testing.T) reconcile.Status {
	t.Helper()
	var st reconcile.Status
	resp, err := http.Get("http://" + a.listen + "/status")
	if err != nil {
		return st
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&st)
	return st
}

// TestAgentUpdateFailures: a new agent release that exits at once, one
// built for another architecture, one that never confirms (a script that
// sleeps) and one that refuses the agent's flags: each is stopped, the
// old agent carries on (same pid, app untouched, /metrics answering), the
// release is recorded failed (reconciler_agent_failed_info) and not tried
// again at the next polls.
func TestAgentUpdateFailures(t *testing.T) {
	t.Parallel()
	bin1 := agentBuild(t, "1")
	recv := testkit.NewReceiver()
	t.Cleanup(recv.Close)
	a := startAgentService(t, bin1, "--agent-confirm-timeout", "4s", "--notify-url", recv.URL)
	waitLong(t, "agent 1", func() bool { return a.reports("1") && strings.HasPrefix(testkit.Answer(a.addr), "exampleapp 1:") })
	appPID, main := readPID(t, a.dir), a.svc.MainPID()
	for _, c := range []struct {
		name, v string
		data    []byte
	}{
		{"exits at once", "3", []byte("#!/bin/sh\necho 'crashing' >&2\nexit 3\n")},
		{"another architecture", "4", otherArch(mustRead(t, bin1))},
		{"never confirms", "5", []byte("#!/bin/sh\nexec sleep 600\n")},
		{"refuses the flags", "6", exampleApp(t, "6")}, // a real Go program that knows none of them
	} {
		t.Run(c.name, func(t *testing.T) {
			a.publishAgent(c.v, c.data)
			waitLong(t, "agent "+c.v+" recorded failed", func() bool {
				return sum(a.metrics(), "reconciler_agent_failed_info", `version="`+c.v+`"`) == 1
			})
			p0 := a.polls()
			waitLong(t, "three more polls", func() bool { return a.polls() >= p0+3 })
			if n := a.d.art.hitCount("/agent-" + c.v); n != 1 {
				t.Errorf("agent %s downloaded %d times, want once (not tried again)", c.v, n)
			}
			if !a.reports("1") || a.svc.MainPID() != main || !procfs.Alive(main) || a.svc.Starts() != 1 {
				t.Errorf("after agent %s failed: main pid %d (want %d, alive), %d starts, agent 1 reporting %v",
					c.v, a.svc.MainPID(), main, a.svc.Starts(), a.reports("1"))
			}
			if got := readPID(t, a.dir); got != appPID {
				t.Errorf("app pid: got %d, want %d", got, appPID)
			}
			store, err := agentdir.Open(a.agentDir)
			if err != nil {
				t.Fatal(err)
			}
			if _, failed, err := store.Failed(c.v); !failed || err != nil {
				t.Errorf("agent dir record: version %s failed %v (err %v), want it recorded failed", c.v, failed, err)
			}
			if !a.notified(recv, "agent_failed", "1", c.v) {
				t.Errorf("no agent_failed 1 -> %s delivered", c.v)
			}
			if st := a.status(t); st.Agent == nil || st.Agent.Version != "1" || st.Agent.Failed[c.v] == "" {
				t.Errorf("/status agent: %+v, want version 1 and %s failed", st.Agent, c.v)
			}
			if out, _, _ := runCLI(t, "status", "--dir", a.dir); !strings.Contains(out, "agent failed: version "+c.v+":") {
				t.Errorf("status:\n%s\nwant agent %s shown failed", out, c.v)
			}
		})
	}
	if n := strings.Count(a.log.String(), `"msg":"agent update failed; this agent carries on"`); n != 4 {
		t.Errorf("logged %d failed updates, want 4 (one per release, not per poll)", n)
	}
	n := 0
	for _, r := range recv.Delivered() {
		if strings.Contains(string(r.Body), `"event":"agent_failed"`) {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d agent_failed notifications, want 4 (one per release)", n)
	}
}

// TestAgentUnsignedCommitRefused: with --verify-ssh-allowed-signers, an
// unsigned commit of the agent file is refused like any other: nothing
// downloaded, the agent stays; the same file under a signed commit updates
// it.
func TestAgentUnsignedCommitRefused(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	key, pub := gittest.NewSSHKey(t)
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(signers, []byte(`deploy@example.com namespaces="git" `+string(ssh.MarshalAuthorizedKey(pub))), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startSignedAgentService(t, bin1, key, "--verify-ssh-allowed-signers", signers)
	waitLong(t, "agent 1", func() bool { return a.reports("1") })
	main := a.svc.MainPID()
	rev := a.publishAgent("2", mustRead(t, bin2)) // unsigned
	p0 := a.polls()
	waitLong(t, "three more polls", func() bool { return a.polls() >= p0+3 })
	if n := a.d.art.hitCount("/agent-2"); n != 0 || !a.reports("1") || a.svc.MainPID() != main {
		t.Errorf("unsigned agent commit: agent 2 downloaded %d times, agent 1 reporting %v, main pid %d (want %d): want it refused",
			n, a.reports("1"), a.svc.MainPID(), main)
	}
	if log := a.log.String(); !strings.Contains(log, "not signed") || !strings.Contains(log, rev[:12]) {
		t.Errorf("log: want the agent file's refusal naming %s and 'not signed'", rev[:12])
	}
	a.signHead(key)
	waitLong(t, "agent 2 once the head is signed", func() bool { return a.reports("2") })
}
