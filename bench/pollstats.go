package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// pollOutcome sorts a simulated agent's poll. A saturated git server is a
// result of the fleet rows, not a failure of the bench: its polls are
// counted here, never returned as the group's error.
type pollOutcome int

const (
	pollOK       pollOutcome = iota
	pollTimedOut             // no answer within fleetPollTimeout
	pollFailed               // any other error (reset, 5xx, a git CLI exit status)
)

// outcomeOf sorts a poll's error. pollCtx is the context the poll ran
// under: the git CLI killed at its deadline reports "signal: killed", not
// context.DeadlineExceeded.
func outcomeOf(pollCtx context.Context, err error) pollOutcome {
	switch {
	case err == nil:
		return pollOK
	case errors.Is(err, context.DeadlineExceeded), errors.Is(pollCtx.Err(), context.DeadlineExceeded):
		return pollTimedOut
	}
	return pollFailed
}

// pollRecord is one poll of one simulated agent.
type pollRecord struct {
	took    time.Duration // from the poll's start to its answer or its deadline
	at      time.Time     // when it ended
	head    string        // the revision the agent has after it (if pollOK)
	outcome pollOutcome
	err     error // nil unless the outcome is pollFailed
	skipped int   // the agent's slots that passed while this poll ran
}

// pollStats summarizes every poll a fleet made, first contacts and the
// fetch after the commit included. Latency percentiles cover every poll,
// timed out and failed ones too, so a saturated server shows in its tail.
type pollStats struct {
	polls, timedOut, failed int
	skipped                 int // slots that passed while a poll ran: no poll was made in them
	p50, p90, p99, max      time.Duration
	firstErr                error // the first failed poll's error, for stderr
}

func summarizePolls(recs []pollRecord) pollStats {
	var s pollStats
	took := make([]time.Duration, 0, len(recs))
	for _, r := range recs {
		s.polls++
		s.skipped += r.skipped
		took = append(took, r.took)
		switch r.outcome {
		case pollTimedOut:
			s.timedOut++
		case pollFailed:
			s.failed++
			if s.firstErr == nil {
				s.firstErr = r.err
			}
		}
	}
	slices.Sort(took)
	s.p50, s.p90, s.p99 = percentile(took, 50), percentile(took, 90), percentile(took, 99)
	if len(took) > 0 {
		s.max = took[len(took)-1]
	}
	return s
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted xs.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n), 1-based
	return sorted[max(rank, 1)-1]
}

// counts is the "polls (slots skipped); timed out; failed" cell.
func (s pollStats) counts() string {
	return fmt.Sprintf("%d (%d); %d; %d", s.polls, s.skipped, s.timedOut, s.failed)
}

// latencies is the "p50 / p90 / p99 / max" cell, in ms.
func (s pollStats) latencies() string {
	return fmt.Sprintf("%s / %s / %s / %s ms", num(ms(s.p50)), num(ms(s.p90)), num(ms(s.p99)), num(ms(s.max)))
}
