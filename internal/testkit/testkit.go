// Package testkit holds the helpers that tests, the benchmarks and the demo
// share, as net/http/httptest does for servers: none of them needs a
// testing.TB, so bench can use them too.
package testkit

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FreeAddr returns a loopback address with a port that was free a moment
// ago (the listener is closed again; fine on a test machine), and never one
// it returned before in this process: the OS may hand a port just closed out
// again, and two parts of one test (an app and an agent) then collide.
func FreeAddr() (string, error) {
	given.Lock()
	defer given.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		if !given.addrs[addr] {
			given.addrs[addr] = true
			return addr, nil
		}
	}
	return "", errors.New("testkit: no loopback port free that was not handed out before")
}

// given is every address FreeAddr returned in this process.
var given = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

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

// Answer returns what the app at addr answers on / (or the error),
// trimmed, on a new connection: a kept-alive one may lead to an old
// process still draining after a switch.
func Answer(addr string) string {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strings.TrimSpace(string(b))
}
