package svctest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/sdnotify"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// helperEnv makes the test binary a program of the tests below.
const helperEnv = "SVCTEST_HELPER"

func TestMain(m *testing.M) {
	testkit.ExecChain(handover)
	switch os.Getenv(helperEnv) {
	case "handover":
		handover()
	case "successor":
		time.Sleep(time.Minute) // ended by the test (SIGTERM); the minute bounds a leftover
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// handover is a main process that hands the service over as the agent
// does: it starts its successor, prints its pid, sends MAINPID=<it> and
// exits 0 at once.
func handover() {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=successor")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(cmd.Process.Pid)
	if _, err := sdnotify.MainPID(cmd.Process.Pid); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(0)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestFollowsMainPIDOfAMainThatExitsAtOnce: a main process that sends
// MAINPID=<its successor> and exits 0 right after, while the supervisor
// is late (each read of the notify socket starts 6 ms after it was
// armed, longer than the loop's 5 ms wait, as on a busy machine): the
// service follows the successor, starts nothing, and stops it on Stop.
// systemd reads the queued notifications before it handles the old main
// pid's end (issue 26: the supervisor judged the exit a clean stop).
func TestFollowsMainPIDOfAMainThatExitsAtOnce(t *testing.T) {
	t.Parallel()
	out := &syncBuf{}
	svc, err := Start(Options{Path: os.Args[0], Env: []string{helperEnv + "=handover"},
		Stdout: out, Stderr: out, SocketDir: t.TempDir(),
		beforeRead: func() { time.Sleep(6 * time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	first := svc.MainPID()
	succ := 0
	deadline := time.Now().Add(30 * time.Second)
	for succ == 0 || svc.MainPID() == first {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: main pid %d, output %q", svc.MainPID(), out.String())
		}
		succ, _ = strconv.Atoi(strings.TrimSpace(out.String()))
		time.Sleep(2 * time.Millisecond)
	}
	t.Cleanup(func() { _ = syscall.Kill(succ, syscall.SIGKILL) }) // if the test failed before Stop
	if got := svc.MainPID(); got != succ || svc.Starts() != 1 || !procfs.Alive(succ) {
		t.Fatalf("main pid %d (want the successor %d, alive %v), %d starts (want 1); output %q",
			got, succ, procfs.Alive(succ), svc.Starts(), out.String())
	}
	if err := svc.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if procfs.Alive(succ) {
		t.Errorf("the successor %d still runs after Stop", succ)
	}
	if got := svc.Mains(); len(got) != 2 || got[0] != first || got[1] != succ {
		t.Errorf("mains %v, want [%d %d]", got, first, succ)
	}
}

// TestExecIsNoEnd: a main process that runs execve from a thread other
// than its leader 300 times (its pid stays; /proc reads Z for a moment
// each time) and then hands over: the service follows the successor and
// starts nothing. The supervisor once judged its child by /proc, took an
// exec for the end, waited for the exit instead of reading MAINPID= and
// stopped following the service at the clean exit (issue 26's flake). It
// looks at the main pid every 50us here, to meet the exec's moment.
func TestExecIsNoEnd(t *testing.T) {
	t.Parallel()
	out := &syncBuf{}
	svc, err := Start(Options{Path: os.Args[0], Env: []string{testkit.ExecChainEnv + "=300"},
		Stdout: out, Stderr: out, SocketDir: t.TempDir(), Log: out, lookEvery: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	first := svc.MainPID()
	var succ int
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: main pid %d; output:\n%s", svc.MainPID(), out.String())
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if n, err := strconv.Atoi(line); err == nil {
				succ = n
			}
		}
		if succ != 0 && (svc.MainPID() != first || !procfs.Alive(first)) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Cleanup(func() { _ = syscall.Kill(succ, syscall.SIGKILL) }) // if the test failed before Stop
	for time.Now().Before(deadline) && procfs.Alive(first) {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the loop's look at the old main's end
	if got := svc.MainPID(); got != succ || svc.Starts() != 1 {
		t.Fatalf("main pid %d (want the successor %d), %d starts (want 1); output:\n%s", got, succ, svc.Starts(), out.String())
	}
	if err := svc.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if procfs.Alive(succ) {
		t.Errorf("the successor %d still runs after Stop", succ)
	}
}
