package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// listen opens a real unixgram socket as systemd does and returns its
// name for $NOTIFY_SOCKET.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotifyRealSocket(t *testing.T) {
	for _, tc := range []struct{ what, name string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", fmt.Sprintf("@reconciler-sdnotify-test-%d", os.Getpid())},
	} {
		t.Run(tc.what, func(t *testing.T) {
			conn := listen(t, tc.name)
			t.Setenv(Socket, tc.name)
			if sent, err := Ready(); !sent || err != nil {
				t.Fatalf("Ready: got %v, %v; want true, nil", sent, err)
			}
			if got := receive(t, conn); got != "READY=1" {
				t.Errorf("got %q, want READY=1", got)
			}
			if sent, err := MainPID(4242); !sent || err != nil {
				t.Fatalf("MainPID: got %v, %v; want true, nil", sent, err)
			}
			if got := receive(t, conn); got != "MAINPID=4242" {
				t.Errorf("got %q, want MAINPID=4242", got)
			}
			if os.Getenv(Socket) != tc.name {
				t.Errorf("$%s was changed", Socket)
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv(Socket, "")
	if sent, err := Ready(); sent || err != nil {
		t.Errorf("got %v, %v; want false, nil", sent, err)
	}
}

func TestNotifyBadSocket(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	t.Setenv(Socket, missing)
	if sent, err := Ready(); !sent || err == nil {
		t.Errorf("missing socket: got %v, %v; want true and an error", sent, err)
	}
	if err := Send("relative", "READY=1"); err == nil {
		t.Error("relative name: got nil, want an error")
	}
}
