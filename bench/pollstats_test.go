package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		xs   []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{1, 2, 3, 4}, 50, 2},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
	} {
		if got := percentile(tc.xs, tc.p); got != tc.want {
			t.Errorf("percentile(%d of %d) = %s, want %s", tc.p, len(tc.xs), got, tc.want)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	live := context.Background()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want pollOutcome
	}{
		{"answered", live, nil, pollOK},
		{"gitsrc's own deadline", live, fmt.Errorf("list refs: no answer within 30s: %w", context.DeadlineExceeded), pollTimedOut},
		{"git CLI killed at the poll's deadline", expired, errors.New("signal: killed"), pollTimedOut},
		{"reset", live, errors.New("connection reset by peer"), pollFailed},
	} {
		if got := outcomeOf(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: got outcome %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestSummarizePolls(t *testing.T) {
	reset := errors.New("connection reset by peer")
	recs := []pollRecord{
		{took: 3 * time.Millisecond, outcome: pollOK},
		{took: 30 * time.Second, outcome: pollTimedOut, skipped: 2},
		{took: 5 * time.Millisecond, outcome: pollFailed, err: reset},
		{took: 4 * time.Millisecond, outcome: pollOK},
	}
	s := summarizePolls(recs)
	if got, want := s.counts(), "4 (2); 1; 1"; got != want {
		t.Errorf("counts: got %q, want %q", got, want)
	}
	if s.p50 != 4*time.Millisecond || s.max != 30*time.Second {
		t.Errorf("p50, max: got %s, %s, want 4ms, 30s", s.p50, s.max)
	}
	if !errors.Is(s.firstErr, reset) {
		t.Errorf("first error: got %v, want %v", s.firstErr, reset)
	}
}

// A git server that accepts and never answers (a saturated one, at worst)
// gives the agent's poll a timed-out outcome, not a failure.
func TestSilentServerPollTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := agentPoll(srv.URL+"/deploy.git")(ctx, 0, "")
	if err == nil {
		t.Fatal("poll of a silent server: got no error")
	}
	if got := outcomeOf(ctx, err); got != pollTimedOut {
		t.Errorf("poll of a silent server: got outcome %d (%v), want pollTimedOut", got, err)
	}
}
