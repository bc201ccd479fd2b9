package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promote"
)

// promoteRun is one run of the promoter.
type promoteRun struct {
	start, end time.Time
	queries    int64
	asking     time.Duration // in the queries
	res        promote.Result
	err        error
}

func (r promoteRun) wall() time.Duration { return r.end.Sub(r.start) }

// pushed reports a run that committed and pushed a decision of action a.
func (r promoteRun) pushed(a promote.Action) bool {
	return r.err == nil && r.res.Rev != "" && r.res.Decision.Action == a
}

// gitMark is the git server's counters at one moment.
type gitMark struct {
	t                 time.Time
	cpu               time.Duration
	listings, uploads int64
}

// gitWindow is what the git server did between two marks.
type gitWindow struct {
	dur, cpu          time.Duration
	listings, uploads int64
}

func (b *rolloutBench) mark() gitMark {
	l, u := b.srv.stats()
	return gitMark{t: time.Now(), cpu: b.srv.cpu(), listings: l, uploads: u}
}

func (b *rolloutBench) since(m gitMark) gitWindow {
	n := b.mark()
	return gitWindow{dur: n.t.Sub(m.t), cpu: n.cpu - m.cpu, listings: n.listings - m.listings, uploads: n.uploads - m.uploads}
}

// crashResult is the rollout of the release that crashes on start.
type crashResult struct {
	halted   bool
	decision string        // the halt's subject, or the last decision's
	after    time.Duration // from the commit to the halt pushed
	runs     []promoteRun
}

// goodResult is the rollout of the good release, to the finish.
type goodResult struct {
	finished bool
	last     string        // the last decision's subject
	total    time.Duration // from the first commit to the finish pushed
	steps    []stepTime
	runs     []promoteRun
	curls    []time.Duration
	curlErrs int
	curlErr  error
	git      gitWindow // from the first commit to one period after the finish
	gitRuns  int       // promoter runs in that window
	scrapes  scrapeHealth
}

// scrapeHealth is how Prometheus fared scraping the fleet's one endpoint:
// a scrape slower than the interval fails, and then every host's series
// go missing at once.
type scrapeHealth struct {
	scrapes, up int
	longest     time.Duration
	err         error
}

// stepTime is one step of a rollout: from the commit that set its percent
// to the commit that moved it on.
type stepTime struct {
	from, to float64
	finish   bool
	took     time.Duration
}

// plainResult is a plain bump of the same fleet, over the good rollout's
// window.
type plainResult struct {
	git      gitWindow
	runs     []promoteRun // the promoter's, each finding no rollout
	rev      string
	at       time.Time
	reachAll time.Duration
	reached  int
}

// rolloutResult is the whole run.
type rolloutResult struct {
	crash crashResult
	good  goodResult
	plain plainResult
	polls pollStats
	ran   []string // hosts that ever started the crashing release
}

// decisionText is a run's decision in one line, or its error.
func decisionText(r promoteRun) string {
	switch {
	case r.err != nil:
		return "error: " + r.err.Error()
	case r.res.NoRollout:
		return "none: no rollout block"
	}
	return r.res.Decision.Action.String() + ": " + r.res.Decision.Subject()
}

// reach is how many agents got rev, and how long after at the last one
// did.
func reach(polls [][]pollRecord, rev string, at time.Time) (int, time.Duration) {
	n, last := 0, time.Duration(0)
	for _, recs := range polls {
		for _, p := range recs {
			if p.outcome == pollOK && p.head == rev {
				n++
				last = max(last, p.at.Sub(at))
				break
			}
		}
	}
	return n, last
}

// plainFile is a desired file without a rollout block.
func plainFile(version string) []byte {
	return fmt.Appendf(nil, `{"version": %q, "bin": {"path": "web/app"}}`+"\n", version)
}

// rolloutFile rolls version out from fromVersion: canary web-0001 at 0%,
// then 10%, 50% and 100%, each soaked for soak; no host may fail, and one
// check (every app up) must pass.
func rolloutFile(version string, soak time.Duration) []byte {
	steps := make([]string, 0, 4)
	for _, p := range []int{0, 10, 50, 100} {
		steps = append(steps, fmt.Sprintf(`{"percent": %d, "soak": %q}`, p, soak.String()))
	}
	return fmt.Appendf(nil, `{"version": %q, "bin": {"path": "web/app"},
  "rollout": {"id": "web-%s", "from": {"version": %q, "bin": {"path": "web/app"}},
    "canary": [%q], "percent": 0, "steps": [%s], "max_failed": 0,
    "checks": [{"query": "min(reconciler_app_up{job=\"reconciler\"})", "min": 1}], "on_halt": "revert"}}
`, version, version, fromVersion, hostName(0), strings.Join(steps, ", "))
}
