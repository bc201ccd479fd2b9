package testkit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ExecChainEnv holds the number of execs left to a program that
// ExecChain runs.
const ExecChainEnv = "TESTKIT_EXEC_CHAIN"

// ExecChain, called first in a test binary's TestMain, makes a child
// started with ExecChainEnv=N replace itself by itself N times, each
// time with syscall.Exec from a thread other than its leader, as the
// agent's start does when it runs a confirmed version; then it calls
// last and exits 0. /proc reads such a process's leader as a zombie for
// a moment at each exec (see internal/procfs): the tests of whatever
// judges a process alive run one. Without ExecChainEnv it returns at
// once.
func ExecChain(last func()) {
	n, err := strconv.Atoi(os.Getenv(ExecChainEnv))
	if err != nil {
		return
	}
	if n <= 0 {
		os.Unsetenv(ExecChainEnv) // what last starts is no chain
		last()
		os.Exit(0)
	}
	runtime.LockOSThread() // the main goroutine keeps the leader thread: the exec runs on another
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, ExecChainEnv+"=") })
	env = append(env, ExecChainEnv+"="+strconv.Itoa(n-1)) // of two, the first would win
	errc := make(chan error)
	go func() { errc <- syscall.Exec("/proc/self/exe", os.Args, env) }()
	fmt.Fprintln(os.Stderr, "testkit: exec:", <-errc)
	os.Exit(2)
}

// ExecChainLast is the last program of a chain that StartExecChain runs:
// it says "last" on stdout and waits for its stdin to close (End).
func ExecChainLast() {
	os.Stdout.WriteString("last\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// ExecChainChild is a child that replaces itself by itself, started by
// StartExecChain.
type ExecChainChild struct {
	Cmd *exec.Cmd
	// Last is closed once the last program of the chain runs.
	Last  chan struct{}
	stdin io.Closer
}

// StartExecChain starts bin, a test binary whose TestMain calls
// ExecChain(ExecChainLast), to exec itself n times (ExecChain); its last
// program runs until End. The caller waits for it (Cmd.Wait).
func StartExecChain(bin string, n int) (*ExecChainChild, error) {
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), ExecChainEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &ExecChainChild{Cmd: cmd, Last: make(chan struct{}), stdin: stdin}
	go func() {
		r := bufio.NewReader(stdout)
		if line, _ := r.ReadString('\n'); line == "last\n" {
			close(c.Last)
		}
		_, _ = io.Copy(io.Discard, r) // until the child exits
	}()
	return c, nil
}

// End lets the last program of the chain exit.
func (c *ExecChainChild) End() { c.stdin.Close() }
