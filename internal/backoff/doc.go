// Package backoff is the one exponential backoff of the agent: the
// engine's wait after failed passes (reconcile), the webhook sender's wait
// between attempts (internal/notify) and a download's wait between
// attempts (artifacts).
//
// The wait after the n-th consecutive failure is Min doubled n-1 times,
// capped at Max, with "equal jitter": drawn uniformly from [d - d/2, d].
// Equal rather than full jitter ([0, d]) because every caller also relies
// on the wait growing: a fleet that failed together (a shared git host or
// webhook receiver down) is spread over half of each step, yet no agent
// comes back sooner than half the step, so a host that is down is not
// hammered by the unlucky draws. The top of the draw is the plain doubling.
//
// The random source is a field, so tests draw the bottom or the top.
package backoff
