package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// agentProcs returns the live processes that are agents of a's app
// directory (an agent binary, a's --dir on the command line), by pid,
// with their executable.
func (a *agentService) agentProcs(bins ...string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !procfs.Alive(pid) {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil {
			continue
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		mine := strings.HasPrefix(exe, filepath.Join(a.agentDir, "versions")+"/")
		for _, b := range bins {
			mine = mine || exe == b
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if mine && strings.Contains(string(cmdline), "\x00"+a.dir+"\x00") {
			out[pid] = exe
		}
	}
	return out
}

// ppid is pid's parent (0 when gone).
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, _ := strconv.Atoi(fields[1])
	return n
}

// TestAgentHandoverKilled: SIGKILL of the old or of the new agent at a
// random moment of a handover, 20 times (alternating 1 -> 2 and 2 -> 1):
// afterwards exactly one agent runs, it is the service's main pid, on the
// package's binary or a release of --agent-dir whose bytes are the ones
// verified at install, the agent dir's record reads, and the app kept its
// pid and its links.
func TestAgentHandoverKilled(t *testing.T) {
	t.Parallel()
	bin1, bin2 := agentBuild(t, "1"), agentBuild(t, "2")
	a := startAgentService(t, bin1)
	waitLong(t, "app 1 and agent 1", func() bool {
		return strings.HasPrefix(testkit.Answer(a.addr), "exampleapp 1:") && a.reports("1")
	})
	appPID := readPID(t, a.dir)
	a.killDuringHandovers(t, 20, bin1, bin2, func(i int) {
		if got := readPID(t, a.dir); got != appPID {
			t.Fatalf("run %d: app pid %d, want %d", i, got, appPID)
		}
		assertLinks(t, a.dir, "1")
	})
}

// killDuringHandovers hands a's agent over runs times (alternating 1 -> 2
// and 2 -> 1, the binaries bin1 and bin2), each time SIGKILLing the old or
// the new agent at a random moment of the handover, then asserts that
// exactly one agent runs (assertOneAgent) and calls check(i).
func (a *agentService) killDuringHandovers(t *testing.T, runs int, bin1, bin2 string, check func(i int)) {
	t.Helper()
	store, err := agentdir.Open(a.agentDir)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for v, bin := range map[string]string{"1": bin1, "2": bin2} {
		if data[v], err = os.ReadFile(bin); err != nil {
			t.Fatal(err)
		}
	}
	kills := []struct {
		new, fromSuccessor bool
		within             time.Duration
	}{
		{new: false, fromSuccessor: false, within: 1500 * time.Millisecond},
		{new: true, fromSuccessor: true, within: 600 * time.Millisecond},
		{new: false, fromSuccessor: true, within: 300 * time.Millisecond},
		{new: true, fromSuccessor: true, within: 100 * time.Millisecond},
	}
	for i := range runs {
		from := a.running(t)
		to := map[string]string{"1": "2", "2": "1"}[from]
		if _, err := store.Retry(); err != nil { // a kill of the new one records it failed: try it again
			t.Fatal(err)
		}
		old := a.svc.MainPID()
		// The moment: from the commit (the poll, the download, the start)
		// or from the successor's start (its confirming poll, ready, go,
		// the lock passed on, the old one's exit).
		c := kills[i%len(kills)]
		delay := time.Duration(rand.Int64N(int64(c.within)))
		a.publishAgent(to, data[to])
		victim := old
		if c.fromSuccessor {
			succ := 0
			waitLong(t, "the successor", func() bool { succ = a.successorOf(old); return succ != 0 })
			if c.new {
				victim = succ
			}
		}
		time.Sleep(delay) // the random moment of the handover
		_ = syscall.Kill(victim, syscall.SIGKILL)
		t.Logf("run %d: %s -> %s, SIGKILL of the %s agent (pid %d) %s after %s", i, from, to,
			map[bool]string{true: "new", false: "old"}[c.new], victim, delay, map[bool]string{true: "its start", false: "the commit"}[c.fromSuccessor])
		a.assertOneAgent(t, bin1)
		check(i)
	}
	t.Logf("%d runs, %d starts by the supervisor", runs, a.svc.Starts())
}

// running is the agent version /metrics reports, once it answers.
func (a *agentService) running(t *testing.T) string {
	t.Helper()
	var v string
	waitLong(t, "the agent's /metrics", func() bool {
		for _, c := range []string{"1", "2"} {
			if a.reports(c) {
				v = c
				return true
			}
		}
		return false
	})
	return v
}

// successorOf is the agent process old started (0: none yet), or the
// main pid when it moved on already.
func (a *agentService) successorOf(old int) int {
	for pid := range a.agentProcs() {
		if ppid(pid) == old {
			return pid
		}
	}
	if main := a.svc.MainPID(); main != old && main != 0 {
		return main
	}
	return 0
}

// assertOneAgent waits until one agent runs, stays the only one, is the
// service's main pid and serves, then checks its binary against the
// agent dir's record.
func (a *agentService) assertOneAgent(t *testing.T, bin1 string) {
	t.Helper()
	var pid int
	var exe string
	stable := 0
	waitLong(t, "exactly one agent, the main pid, serving", func() bool {
		procs := a.agentProcs(bin1)
		main := a.svc.MainPID()
		ok := len(procs) == 1 && procs[main] != "" && a.metrics() != ""
		if ok && main == pid {
			stable++
		} else {
			stable = 0
		}
		pid, exe = main, procs[main]
		return ok && stable >= 10 // and still so 10 looks later
	})
	if err := a.svc.Err(); err != nil {
		t.Fatal(err)
	}
	if exe == bin1 {
		return
	}
	store, err := agentdir.Open(a.agentDir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Record()
	if err != nil {
		t.Fatalf("agent dir record: %v", err)
	}
	v := filepath.Base(filepath.Dir(exe))
	got, err := artifacts.FileSHA256(exe)
	if err != nil || got != rec.Installed[v] || got != sha(mustRead(t, agentBuild(t, v))) {
		t.Errorf("the agent runs %s: sha256 %s (err %v), want the installed %s", exe, got, err, rec.Installed[v])
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
