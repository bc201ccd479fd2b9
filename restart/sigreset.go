package restart

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// startMu serialises clean starts: what they change (the process's signal
// dispositions) belongs to the whole process, not to one Switcher.
var startMu sync.Mutex

// startClean runs start (an exec.Cmd's Start: fork and exec in the calling
// goroutine) so that the child begins with default signal dispositions and
// an empty signal mask, whatever this process inherited (nohup, a shell
// trap, signal.Ignore): an app that inherits an ignored SIGHUP never hands
// over, and one that inherits a blocked signal never sees it. Go offers no
// SysProcAttr field for either (golang/go#20479, #21078), and a shim that
// resets them and execs the app is one more process in the way; but the
// runtime resets to SIG_DFL, in the child, every signal it handles, and the
// child gets the mask of the thread that forks. So: the ignored signals are
// handled (signal.Notify) for the moment of the fork and ignored again
// after it, and the fork happens on a thread of its own whose mask is
// cleared first, a thread that ends with it. Caveat: a signal.Notify for one
// of those signals made by another goroutine during a start is undone by
// the Ignore that follows it; the agent sets up its own signal handling
// before it starts any app.
func startClean(start func() error) error {
	startMu.Lock()
	defer startMu.Unlock()
	if ignored := ignoredSignals(); len(ignored) > 0 {
		ch := make(chan os.Signal, len(ignored))
		signal.Notify(ch, ignored...)
		defer func() {
			signal.Stop(ch)
			signal.Ignore(ignored...) // as they were, for this process
		}()
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, with its cleared mask, ends with
		// this goroutine instead of running other goroutines.
		runtime.LockOSThread()
		var none unix.Sigset_t
		if err := unix.PthreadSigmask(unix.SIG_SETMASK, &none, nil); err != nil {
			done <- fmt.Errorf("clear the signal mask for the app: %w", err)
			return
		}
		done <- start()
	}()
	return <-done
}

// ignoredSignals lists the standard signals this process ignores.
func ignoredSignals() []os.Signal {
	var out []os.Signal
	for s := syscall.Signal(1); s < 32; s++ {
		if s != syscall.SIGKILL && s != syscall.SIGSTOP && signal.Ignored(s) {
			out = append(out, s)
		}
	}
	return out
}
