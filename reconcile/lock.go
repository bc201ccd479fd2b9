package reconcile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrLocked means another reconciler works on the same directory.
var ErrLocked = errors.New("another reconciler is working on this directory")

// Lock is an exclusive flock on .reconciler/lock. The kernel releases it
// when the holder dies, SIGKILL included, so a lock is never stale.
type Lock struct {
	f *os.File
}

// Lock takes the directory's lock without waiting. If another process holds
// it, the error wraps ErrLocked and names that process's pid.
func (l Layout) Lock() (*Lock, error) {
	if err := l.ensureStateDir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(l.lockFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (pid %s holds %s)", l.Dir, ErrLocked, holder, l.lockFile())
		}
		return nil, fmt.Errorf("lock %s: %w", l.lockFile(), err)
	}
	// The pid is informational, for the message above.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

func readHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	if s := strings.TrimSpace(string(buf[:n])); s != "" {
		return s
	}
	return "unknown"
}

// Unlock releases the lock.
//
// It unlocks explicitly before closing. An flock belongs to the open file
// description, and a child forked by any goroutine of this process shares
// that description until it execs (O_CLOEXEC acts at exec, not at fork): a
// Close alone would leave the lock held by such a child for a moment, and
// a reconciler taking the lock right after would be refused. LOCK_UN
// releases it for every descriptor that shares it.
func (k *Lock) Unlock() error {
	if k == nil || k.f == nil {
		return nil
	}
	uerr := unix.Flock(int(k.f.Fd()), unix.LOCK_UN)
	err := k.f.Close()
	k.f = nil
	if uerr != nil {
		return fmt.Errorf("unlock: %w", uerr)
	}
	return err
}
