// Package testkit holds the helpers that tests, the benchmarks and the demo
// share, as net/http/httptest does for servers: none of them needs a
// testing.TB, so bench can use them too.
package testkit

import (
	"bytes"
	"net"
	"sync"
)

// FreeAddr returns a loopback address with a port that was free a moment
// ago (the listener is closed again; fine on a test machine).
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a child
// process's output, a logger's goroutine) and a reader.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
