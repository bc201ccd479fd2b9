package testkit

import (
	"fmt"
	"os"
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
