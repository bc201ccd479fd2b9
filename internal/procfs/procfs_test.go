package procfs

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

func TestMain(m *testing.M) {
	testkit.ExecChain(testkit.ExecChainLast)
	os.Exit(m.Run())
}

// TestAliveThroughExec: a process that runs execve from a thread other
// than its leader, 100 times, is alive at every look until it said it
// is done; once it exited it is not, zombie (not reaped yet) or gone. The
// leader's state alone reads Z during each exec: Alive on that alone
// fails here (seen at 10 to 40 of the looks per run), and so does a look
// at /proc/PID/task or a single poll of a pidfd (1 run in 20).
func TestAliveThroughExec(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child, err := testkit.StartExecChain(exe, 100)
	if err != nil {
		t.Fatal(err)
	}
	cmd, last, pid := child.Cmd, child.Last, child.Cmd.Process.Pid
	looks, dead := 0, 0
	for done := false; !done; {
		select {
		case <-last:
			done = true
		default:
		}
		looks++
		if !Alive(pid) && !done {
			dead++
		}
	}
	if dead > 0 {
		t.Errorf("Alive(%d) false %d times in %d looks while the process was exec'ing", pid, dead, looks)
	}
	child.End()
	// The child exits; this test, its parent, has not reaped it yet: a
	// zombie.
	for Alive(pid) {
		runtime.Gosched()
	}
	st, err := ReadStat(pid)
	if err != nil || st.State != 'Z' {
		t.Errorf("exited child, not yet reaped: stat %+v, %v, want a zombie", st, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if Alive(pid) {
		t.Errorf("Alive(%d) after the child was reaped", pid)
	}
	t.Logf("%d looks", looks)
}

// TestAliveEnds: both ways of telling (pidfd, /proc alone) see this
// process alive, a child that exited and is not reaped yet (a zombie)
// dead, and it dead once reaped; no pid is alive.
func TestAliveEnds(t *testing.T) {
	t.Parallel()
	for name, alive := range map[string]func(int) bool{"pidfd": Alive, "proc": aliveInProc} {
		for _, pid := range []int{0, -1, 1 << 30} {
			if alive(pid) {
				t.Errorf("%s: alive(%d) = true", name, pid)
			}
		}
		if !alive(os.Getpid()) {
			t.Errorf("%s: alive(self) = false", name)
		}
		cmd := exec.Command("true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		for { // exited, not reaped: a zombie
			if st, err := ReadStat(pid); err == nil && st.State == 'Z' {
				break
			}
			runtime.Gosched()
		}
		if alive(pid) {
			t.Errorf("%s: a zombie (pid %d) is alive", name, pid)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if alive(pid) {
			t.Errorf("%s: a reaped child (pid %d) is alive", name, pid)
		}
	}
}
