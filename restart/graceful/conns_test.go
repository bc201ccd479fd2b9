package graceful

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// fakeConn is only a map key: the tracker never touches the connection.
type fakeConn struct {
	net.Conn
	id int
}

// event is a change to connection i: a new state, or closing if state is -1.
type event struct {
	i     int
	state http.ConnState
}

const markClosing http.ConnState = -1

func apply(tr *tracker, conns []net.Conn, evs []event) {
	for _, ev := range evs {
		if ev.state == markClosing {
			tr.closing(conns[ev.i])
		} else {
			tr.hook(conns[ev.i], ev.state)
		}
	}
}

func TestTrackerWaitClosing(t *testing.T) {
	const (
		New, Active, Idle, Closed, Hijacked = http.StateNew, http.StateActive, http.StateIdle, http.StateClosed, http.StateHijacked
	)
	tests := []struct {
		name  string
		conns int
		start []event // before waitClosing
		then  []event // while it waits
		want  error
	}{
		{"no connections", 0, nil, nil, nil},
		{"new gets a closing request", 1, []event{{0, New}}, []event{{0, Active}, {0, markClosing}}, nil},
		{"new is closed by the client", 1, []event{{0, New}}, []event{{0, Closed}}, nil},
		{"hijacked counts as gone", 1, []event{{0, New}}, []event{{0, Hijacked}}, nil},
		{"idle gets a closing request", 2, []event{{0, Idle}, {1, Active}, {1, markClosing}}, []event{{0, Active}, {0, markClosing}}, nil},
		{"active before the drain, then idle, then closing", 1, []event{{0, Active}}, []event{{0, Idle}, {0, Active}, {0, markClosing}}, nil},
		{"active before the drain, never closing", 1, []event{{0, Active}}, []event{{0, Idle}}, context.DeadlineExceeded},
		{"idle stays idle", 1, []event{{0, Idle}}, nil, context.DeadlineExceeded},
		{"read but not marked", 1, []event{{0, New}}, []event{{0, Active}}, context.DeadlineExceeded},
		{"one of two stays new", 2, []event{{0, New}, {1, New}}, []event{{0, Active}, {0, markClosing}}, context.DeadlineExceeded},
		{"mark of an unknown connection is ignored", 2, []event{{0, New}}, []event{{1, markClosing}}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTracker()
				conns := make([]net.Conn, tt.conns)
				for i := range conns {
					conns[i] = &fakeConn{id: i}
				}
				apply(tr, conns, tt.start)
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				got := make(chan error, 1)
				go func() { got <- tr.waitClosing(ctx) }()
				synctest.Wait()
				apply(tr, conns, tt.then)
				if err := <-got; !errors.Is(err, tt.want) {
					t.Errorf("waitClosing: got %v, want %v", err, tt.want)
				}
			})
		})
	}
}

func TestTrackerWaitClosingHasNoClockOfItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		c := &fakeConn{}
		tr.hook(c, http.StateNew)
		done := make(chan error, 1)
		go func() { done <- tr.waitClosing(t.Context()) }()
		time.Sleep(time.Hour) // fake time
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("waitClosing returned %v with a connection still new, want it to wait", err)
		default:
		}
		tr.hook(c, http.StateActive)
		tr.closing(c)
		if err := <-done; err != nil {
			t.Errorf("waitClosing: got %v, want nil", err)
		}
	})
}
