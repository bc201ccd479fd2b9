package graceful

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const request = "GET / HTTP/1.1\r\nHost: test\r\n\r\n"

// startServer serves h on a fresh loopback listener through newServer.
func startServer(t *testing.T, h http.Handler) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t.Context(), ln, h, slog.New(slog.DiscardHandler))
	go s.serve()
	t.Cleanup(func() {
		s.srv.Close()
		<-s.done
	})
	return s
}

func hello(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }

// dial opens a raw connection, so the test decides when each byte is sent.
func dial(t *testing.T, s *server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// roundTrip sends one request on c and reads its response.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) (*http.Response, error) {
	t.Helper()
	if _, err := io.WriteString(c, request); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.ReadAll(resp.Body)
	return resp, err
}

// waitState waits until the server has n connections, all in state st.
func waitState(t *testing.T, s *server, n int, st http.ConnState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		s.conns.mu.Lock()
		got := 0
		for _, cs := range s.conns.conns {
			if cs.state == st {
				got++
			}
		}
		total, changed := len(s.conns.conns), s.conns.changed
		s.conns.mu.Unlock()
		if got == n && total == n {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("connections: got %d of %d in state %v, want %d", got, total, st, n)
		}
	}
}

// startDrain runs drain in the background and returns once this process no
// longer accepts (the listener is closed and Serve has returned).
func startDrain(t *testing.T, s *server, grace, timeout time.Duration) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	res := make(chan error, 1)
	go func() { res <- s.drain(ctx, grace) }()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after drain began")
	}
	return res
}

func wantCloseResponse(t *testing.T, resp *http.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("request sent after the handover began: got %v, want an answer", err)
	}
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("response: got %d, Connection %q; want 200, close", resp.StatusCode, resp.Header.Get("Connection"))
	}
}

func TestDrainAnswersRequestOfAcceptedConnection(t *testing.T) {
	s := startServer(t, http.HandlerFunc(hello))
	c, r := dial(t, s)
	waitState(t, s, 1, http.StateNew) // accepted, nothing sent yet
	res := startDrain(t, s, 10*time.Second, 10*time.Second)

	resp, err := roundTrip(t, c, r)
	wantCloseResponse(t, resp, err)
	if err := <-res; err != nil {
		t.Errorf("drain: got %v, want nil", err)
	}
}

// TestShutdownDropsRequestOfAcceptedConnection is the control: what
// net/http's Shutdown alone does to the same connection, and why drain
// waits before calling it. It only logs, so a Go release that fixes this
// does not break the build.
func TestShutdownDropsRequestOfAcceptedConnection(t *testing.T) {
	s := startServer(t, http.HandlerFunc(hello))
	began := make(chan struct{})
	s.srv.RegisterOnShutdown(func() { close(began) })
	c, r := dial(t, s)
	waitState(t, s, 1, http.StateNew)
	res := make(chan error, 1)
	go func() { res <- s.srv.Shutdown(t.Context()) }()
	<-began

	resp, err := roundTrip(t, c, r)
	if err == nil {
		t.Logf("net/http answered a request read after Shutdown began (%d): the wait in drain may be unneeded now", resp.StatusCode)
	} else {
		t.Logf("as expected, Shutdown alone dropped the request: %v", err)
	}
	if err := <-res; err != nil {
		t.Errorf("Shutdown: got %v, want nil", err)
	}
}

func TestDrainAnswersNextRequestOfIdleConnection(t *testing.T) {
	s := startServer(t, http.HandlerFunc(hello))
	c, r := dial(t, s)
	resp, err := roundTrip(t, c, r)
	if err != nil || resp.Close {
		t.Fatalf("first request: got %v, close=%v; want a keep-alive answer", err, resp != nil && resp.Close)
	}
	waitState(t, s, 1, http.StateIdle)
	start := time.Now()
	res := startDrain(t, s, 10*time.Second, 10*time.Second)

	resp, err = roundTrip(t, c, r)
	wantCloseResponse(t, resp, err)
	if err := <-res; err != nil {
		t.Errorf("drain: got %v, want nil", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("drain took %v, want it to end once the idle connection was used, well before the 10s grace", took)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("after the close response: got %v, want EOF", err)
	}
}

func TestDrainClosesConnectionIdleForTheWholeGrace(t *testing.T) {
	s := startServer(t, http.HandlerFunc(hello))
	c, r := dial(t, s)
	if _, err := roundTrip(t, c, r); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, 1, http.StateIdle)
	res := startDrain(t, s, 100*time.Millisecond, 10*time.Second)
	if err := <-res; err != nil {
		t.Errorf("drain: got %v, want nil", err)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection after drain: got %v, want EOF", err)
	}
}

// A keep-alive request in flight when the drain begins is answered without
// "Connection: close" (its handler ran before); the drain then waits for
// the client's next request on that connection and closes it after that.
func TestDrainLetsInFlightRequestFinish(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		<-release
		io.WriteString(w, "late")
	}))
	c, r := dial(t, s)
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	// Not waitState(StateActive): net/http marks the connection active
	// before the handler runs, and a handler that read the draining flag
	// after the drain began would answer with "Connection: close". Only
	// our handler running proves the request is in flight.
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not start within 10s")
	}
	start := time.Now()
	res := startDrain(t, s, 10*time.Second, 10*time.Second)
	close(release)

	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("in-flight request: got %v, want its answer", err)
	}
	if resp.Close {
		t.Errorf("in-flight response: got Connection %q, want keep-alive: its handler began before the drain", resp.Header.Get("Connection"))
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "late" {
		t.Errorf("in-flight body: got %q, %v; want %q", body, err, "late")
	}
	resp, err = roundTrip(t, c, r)
	wantCloseResponse(t, resp, err)
	if err := <-res; err != nil {
		t.Errorf("drain: got %v, want nil", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("drain took %v, want it to end with the closing response, well before the 10s grace", took)
	}
}

func TestDrainCutsWhatOutlivesTheTimeout(t *testing.T) {
	s := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	c, r := dial(t, s)
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, 1, http.StateActive)
	res := startDrain(t, s, time.Second, 200*time.Millisecond)
	err := <-res
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("drain: got %v, want %v", err, context.DeadlineExceeded)
	}
	if _, err := r.ReadByte(); err == nil || !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Errorf("cut connection: got %v, want it closed", err)
	}
}
