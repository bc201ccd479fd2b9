// Package sdnotify is a tiny client of systemd's notification protocol
// (sd_notify(3)): one datagram of NAME=VALUE lines to the unix socket that
// systemd names in $NOTIFY_SOCKET. The agent's units are Type=notify: the
// agent sends READY=1 when it started, and a successor started in a
// handover sends MAINPID=<its pid> before the old agent exits
// (NotifyAccess=all lets a process other than the main one speak).
//
// Without $NOTIFY_SOCKET (not under systemd, or another Type=) every call
// does nothing and reports sent false. A name starting with "@" is an
// abstract socket (Go's net package maps the "@" to the leading NUL byte);
// other names are paths. It never unsets $NOTIFY_SOCKET: a successor
// started with the agent's environment needs it.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// Socket is the environment variable systemd names its socket in.
const Socket = "NOTIFY_SOCKET"

// Notify sends state (e.g. "READY=1", lines separated by "\n") to the
// socket of $NOTIFY_SOCKET; sent is false when there is none.
func Notify(state string) (sent bool, err error) {
	socket := os.Getenv(Socket)
	if socket == "" {
		return false, nil
	}
	return true, Send(socket, state)
}

// Send sends state to the notification socket named socket.
func Send(socket, state string) error {
	if socket == "" || socket[0] != '@' && socket[0] != '/' {
		return fmt.Errorf("sd_notify: $%s=%q: neither a path nor an abstract name (@...)", Socket, socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", socket, err)
	}
	return nil
}

// Ready tells systemd the service started (READY=1).
func Ready() (bool, error) { return Notify("READY=1") }

// MainPID tells systemd that pid is the service's main process now
// (MAINPID=pid): a successor says so before its predecessor exits.
func MainPID(pid int) (bool, error) { return Notify("MAINPID=" + strconv.Itoa(pid)) }
