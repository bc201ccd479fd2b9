// Package svctest runs a program as systemd runs a Type=notify service
// with NotifyAccess=all, KillMode=process and Restart=on-failure, for the
// tests and the benchmark of the agent's self-update: it listens on a
// NOTIFY_SOCKET, follows MAINPID= (the main pid may move to another
// process, as an agent handing over to its successor moves it), and
// starts the program again when the main process dies of a failure.
// Before it judges a main pid's end it reads every notification queued
// (systemd handles its notify socket before SIGCHLD), so a MAINPID= sent
// before the old main exited is followed however late the check runs. As
// with KillMode=process, when the main process dies nothing else of the
// service is killed. Like testkit, it needs no testing.TB.
//
// A process it started is judged by its exit as Wait reports it, as
// systemd judges by SIGCHLD: never by /proc, whose state reads Z while a
// process runs execve from a thread other than its leader (the agent's
// start does; see internal/procfs). Once it took that for the end, waited
// for the exit and took the later, clean exit of a handing-over agent for
// a stop (issue 26). A main pid it did not start (a successor named by
// MAINPID=) is followed through /proc (procfs.Alive), as systemd follows
// a main pid that is not its child.
package svctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/procfs"
)

// Options describe the service.
type Options struct {
	Path           string   // the program (ExecStart's)
	Args           []string // its arguments
	Env            []string // its environment; NOTIFY_SOCKET is added
	Dir            string   // its working directory
	Stdout, Stderr io.Writer
	// RestartSec is the wait before a start after a failure; 0: 100ms.
	RestartSec time.Duration
	// SocketDir holds the notify socket (a short path: a unix socket's
	// name is at most 107 bytes).
	SocketDir string
	// Log, when set, gets a line for each decision: a start, a main pid
	// moved by MAINPID=, a main pid's end and what was made of it.
	Log io.Writer

	// beforeRead, when set (tests), runs just before each read of the
	// notify socket: a sleep there makes the supervisor late, as a thread
	// descheduled on a busy machine is.
	beforeRead func()
	// lookEvery (tests) is how often the main pid is looked at; 0: 5ms.
	lookEvery time.Duration
}

// Service is a running service.
type Service struct {
	o      Options
	conn   *net.UnixConn
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	main     int
	starts   int
	readies  int
	mains    []int         // every main pid, in order
	children map[int]bool  // the pids it started that have not been reaped
	exits    map[int]error // how the pids it started and reaped ended
	stopped  bool
	err      error
}

// Start starts the service: the program once, again after each failure,
// until Stop.
func Start(o Options) (*Service, error) {
	if o.RestartSec <= 0 {
		o.RestartSec = 100 * time.Millisecond
	}
	if o.lookEvery <= 0 {
		o.lookEvery = 5 * time.Millisecond
	}
	sock := filepath.Join(o.SocketDir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("svctest: notify socket: %w", err)
	}
	o.Env = append(o.Env, "NOTIFY_SOCKET="+sock)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{o: o, conn: conn, cancel: cancel, done: make(chan struct{}), exits: map[int]error{}, children: map[int]bool{}}
	if err := s.start(); err != nil {
		cancel()
		conn.Close()
		return nil, err
	}
	go s.loop(ctx)
	return s, nil
}

func (s *Service) start() error {
	cmd := exec.Command(s.o.Path, s.o.Args...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = s.o.Env, s.o.Dir, s.o.Stdout, s.o.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("svctest: start %s: %w", s.o.Path, err)
	}
	pid := cmd.Process.Pid
	s.mu.Lock()
	s.main, s.starts = pid, s.starts+1
	s.mains = append(s.mains, pid)
	s.children[pid] = true
	delete(s.exits, pid) // an earlier child's, whose pid this one reuses
	s.mu.Unlock()
	s.logf("started pid %d (start %d)", pid, s.Starts())
	go func() {
		// Process.Wait, not cmd.Wait: cmd.Wait also waits for the copy of
		// the output, whose pipe a successor inherited and keeps open.
		var err error
		if st, werr := cmd.Process.Wait(); werr != nil {
			err = werr
		} else if !st.Success() {
			err = errors.New(st.String())
		}
		s.mu.Lock()
		delete(s.children, pid)
		s.exits[pid] = err
		s.mu.Unlock()
	}()
	return nil
}

func (s *Service) logf(format string, args ...any) {
	if s.o.Log != nil {
		fmt.Fprintf(s.o.Log, "svctest %s: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// loop reads notifications and watches the main pid every few ms.
func (s *Service) loop(ctx context.Context) {
	defer close(s.done)
	defer s.conn.Close()
	for ctx.Err() == nil {
		s.drain(s.o.lookEvery)
		main := s.MainPID()
		if main == 0 || s.runs(main) {
			continue
		}
		s.drain(0) // a MAINPID= sent before the old main exited counts
		if s.MainPID() != main {
			continue
		}
		failed, how := s.failed(main)
		s.mu.Lock()
		s.main = 0
		stopping := s.stopped
		s.mu.Unlock()
		if stopping || !failed {
			s.logf("main pid %d ended (%s): the service stopped", main, how)
			return
		}
		s.logf("main pid %d ended (%s): a failure, start again in %s", main, how, s.o.RestartSec)
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.o.RestartSec):
		}
		if err := s.start(); err != nil {
			s.logf("%v", err)
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
	}
}

// runs reports whether pid, a main pid, still runs: a pid it started runs
// until Wait reaped it; another, while /proc says it is alive.
func (s *Service) runs(pid int) bool {
	s.mu.Lock()
	child := s.children[pid]
	_, reaped := s.exits[pid]
	s.mu.Unlock()
	if child || reaped {
		return child
	}
	return procfs.Alive(pid)
}

// failed says whether the main pid's end was a failure, and how it
// ended: a non-zero exit or a signal of a process it started itself, and
// any end of a pid that it did not start (its status is unknown here;
// systemd, as PID 1, would know it).
func (s *Service) failed(pid int) (bool, string) {
	s.mu.Lock()
	err, reaped := s.exits[pid]
	s.mu.Unlock()
	switch {
	case !reaped:
		return true, "not started here: status unknown"
	case err != nil:
		return true, err.Error()
	}
	return false, "exit status 0"
}

// drain reads the notifications queued, then waits up to wait for one
// more (and reads what came with it). What is queued is read with a
// non-blocking read and no deadline, as systemd's manager_dispatch_notify_fd
// reads (recvmsg with MSG_DONTWAIT): however late this goroutine runs, a
// datagram queued before it looks is read. A read with a deadline is not
// enough: once the deadline has passed, Go returns a timeout without
// looking at what is queued, and a supervisor whose thread is late (a busy
// machine) then judged the old main pid's exit without the MAINPID= it had
// sent (issue 26).
func (s *Service) drain(wait time.Duration) {
	buf := make([]byte, 4096)
	s.readQueued(buf)
	if wait <= 0 {
		return
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(wait))
	s.beforeRead()
	n, err := s.conn.Read(buf)
	if err != nil {
		return
	}
	s.handle(string(buf[:n]))
	s.readQueued(buf)
}

// readQueued handles every datagram queued on the notify socket now,
// without waiting for more.
func (s *Service) readQueued(buf []byte) {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return
	}
	_ = s.conn.SetReadDeadline(time.Time{}) // RawConn.Read also checks the deadline first
	for {
		s.beforeRead()
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for { // the socket is non-blocking: EAGAIN when nothing is queued
				if n, rerr = syscall.Read(int(fd), buf); rerr != syscall.EINTR {
					return true // never wait in the poller
				}
			}
		})
		if err != nil || rerr != nil {
			return
		}
		s.handle(string(buf[:n]))
	}
}

// beforeRead runs Options.beforeRead, a test's way to make the loop late.
func (s *Service) beforeRead() {
	if s.o.beforeRead != nil {
		s.o.beforeRead()
	}
}

func (s *Service) handle(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range strings.Split(msg, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "MAINPID":
			if pid, err := strconv.Atoi(v); err == nil && pid > 0 && pid != s.main {
				if !s.children[pid] {
					delete(s.exits, pid) // a child's that ended, whose pid the new main reuses
				}
				s.logf("MAINPID=%d: main pid %d -> %d", pid, s.main, pid)
				s.main = pid
				s.mains = append(s.mains, pid)
			}
		case "READY":
			s.readies++
			s.logf("READY=1 (%d)", s.readies)
		}
	}
}

// MainPID is the service's main pid (0: none runs).
func (s *Service) MainPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.main
}

// Starts is how many times the program was started.
func (s *Service) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// Mains lists every main pid the service had, in order.
func (s *Service) Mains() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.mains...)
}

// Err is why the service could not be started again, if it could not.
func (s *Service) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stop sends SIGTERM to the main process (as systemctl stop does with
// KillMode=process), waits for it to end (SIGKILL after timeout), and
// stops following the service.
func (s *Service) Stop(timeout time.Duration) error {
	s.mu.Lock()
	s.stopped = true
	main := s.main
	s.mu.Unlock()
	var err error
	if main != 0 {
		_ = syscall.Kill(main, syscall.SIGTERM)
		deadline := time.Now().Add(timeout)
		for s.runs(main) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if s.runs(main) {
			_ = syscall.Kill(main, syscall.SIGKILL)
			err = errors.New("svctest: the main process did not stop on SIGTERM")
		}
	}
	s.cancel()
	<-s.done
	return err
}
