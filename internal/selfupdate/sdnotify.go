package selfupdate

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// sdNotify sends state (e.g. "READY=1", "MAINPID=42") to the service
// manager at $NOTIFY_SOCKET, as sd_notify(3) does: one datagram on a unix
// socket, an abstract one when the name starts with "@". It reports false
// when no service manager listens (NOTIFY_SOCKET unset): the agent does not
// run under a Type=notify unit.
func sdNotify(state string) (bool, error) {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return false, nil
	}
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return true, fmt.Errorf("notify the service manager (%s): %w", os.Getenv("NOTIFY_SOCKET"), err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return true, fmt.Errorf("notify the service manager (%s): %w", os.Getenv("NOTIFY_SOCKET"), err)
	}
	return true, nil
}

// NotifyReady tells a Type=notify service manager that the agent is up
// (READY=1, with its pid as the main pid). Without NOTIFY_SOCKET it does
// nothing.
func NotifyReady() error {
	_, err := sdNotify(fmt.Sprintf("READY=1\nMAINPID=%d", os.Getpid()))
	return err
}
