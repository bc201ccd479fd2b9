package selfupdate

import (
	"errors"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenerFile returns a function that duplicates ln's socket for a
// successor. It dups through SyscallConn, never (*TCPListener).File,
// which would leave ln's descriptor in blocking mode (LIBNOTES,
// tableflip): Close and Shutdown would then hang.
func ListenerFile(ln net.Listener) func() (*os.File, error) {
	return func() (*os.File, error) {
		sc, ok := ln.(syscall.Conn)
		if !ok {
			return nil, errors.New("the listener has no file descriptor")
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			return nil, err
		}
		var dup int
		var derr error
		if err := raw.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
			return nil, err
		}
		if derr != nil {
			return nil, derr
		}
		return os.NewFile(uintptr(dup), ln.Addr().String()), nil
	}
}
