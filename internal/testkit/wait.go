package testkit

import "time"

// Failer is the part of testing.TB that WaitFor uses (testkit imports no
// testing package, so a demo or a benchmark may link it).
type Failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// WaitDeadline is WaitFor's: long, because the machine running the tests
// may be loaded; a condition that holds returns at once anyway.
const WaitDeadline = 20 * time.Second

// WaitFor polls cond every 5 ms until it holds, or fails t after
// WaitDeadline, saying what it waited for. Polling for an effect (of a
// child process, a watcher, a server) is the one wait a test cannot avoid;
// it asserts nothing about how long the effect took.
func WaitFor(t Failer, what string, cond func() bool) {
	t.Helper()
	WaitForWithin(t, WaitDeadline, what, cond)
}

// WaitForWithin is WaitFor with its own deadline.
func WaitForWithin(t Failer, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
