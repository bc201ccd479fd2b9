package gitsrc

import "sync/atomic"

// Stats counts the remote calls a Source made, for metrics: ref listings
// are the cheap per-poll question, fetches transfer objects.
type Stats struct {
	RefListings int64
	Fetches     int64
}

type counters struct {
	refListings, fetches atomic.Int64
}

// Stats returns the counts so far. Unlike the rest of Source it is safe to
// call from any goroutine (a metrics scrape).
func (s *Source) Stats() Stats {
	return Stats{RefListings: s.stats.refListings.Load(), Fetches: s.stats.fetches.Load()}
}
