package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// fairnessRows measures the bucket function's fairness: the share of 1,000
// host ids (web-0001 … web-1000) in the wave at each step's percent, over
// 20 rollout ids, against the percent asked for. The alternative is what
// an ideal draw of 1,000 hosts would give: percent × 10 hosts, with the
// binomial's standard deviation.
func fairnessRows(t *table) {
	const hosts, ids = 1000, 20
	for _, pct := range []float64{1, 10, 50} {
		var shares []float64
		for i := range ids {
			id := fmt.Sprintf("web-%d.0", i+2)
			in := 0
			for h := range hosts {
				if reconcile.Bucket(id, fmt.Sprintf("web-%04d", h+1)) < int(pct*100) {
					in++
				}
			}
			shares = append(shares, float64(in))
		}
		s := summarize(shares)
		want := pct / 100 * hosts
		sd := math.Sqrt(hosts * pct / 100 * (1 - pct/100))
		t.add(fmt.Sprintf("rollout wave at %v%% of %d host ids: hosts in the wave, median (min–max) over %d rollout ids", pct, hosts, ids),
			fmt.Sprintf("%.0f (%.0f–%.0f)", s.med, s.min, s.max), fmt.Sprintf("%.0f ± %.1f", want, sd), "an ideal random draw (mean ± 1 sd)", s.med/want)
	}
}

// rolloutRows: a staged rollout across a simulated fleet, promoted by the
// real promoter (promote.Promoter over promote.GitRepo, the code of
// reconciler promote) against a real Prometheus that scrapes the fleet's
// rollout series every second. First a release that crashes on start
// (how many hosts ever ran it, what stopped it), then a good one to the
// finish (time against the soaks, per step), then a plain bump of the
// same fleet over the same time (the git server's CPU of each); and one
// promoter run against one curl of a Prometheus query. Without a
// prometheus binary the rows say so and the group still succeeds.
func rolloutRows(ctx context.Context, t *table, work string, o options) error {
	what := fmt.Sprintf("rollout, %d agents polling every %s, steps canary/10/50/100%% soaked %s each", o.rolloutAgents, o.rolloutPeriod, o.rolloutSoak)
	if promtest.Binary() == "" {
		t.add(what, "not run: no prometheus", "–", "–", 0)
		return nil
	}
	b, err := newRolloutBench(ctx, work, o)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	addCrashRows(t, what, o, res)
	addGoodRows(t, what, o, res.good)
	addPromoterRows(t, what, res.good)
	cpu := func(w gitWindow) string {
		return fmt.Sprintf("%s (%d ref listings, %d object transfers)", w.cpu.Round(10*time.Millisecond), w.listings, w.uploads)
	}
	g, p := res.good.git, res.plain.git
	t.add(fmt.Sprintf("%s: git server CPU from the first commit to one period after the finish (%s; %d promoter runs)", what, secs(g.dur), res.good.gitRuns),
		cpu(g), cpu(p), fmt.Sprintf("a plain bump (no rollout block) over the same %s (%d promoter runs; commit reaches all %d agents in %s)",
			secs(p.dur), len(res.plain.runs), res.plain.reached, secs(res.plain.reachAll)), durRatio(g.cpu, p.cpu))
	sh := res.good.scrapes
	scrapes := fmt.Sprintf("%d of %d; %s", sh.up, sh.scrapes, sh.longest.Round(time.Millisecond))
	if sh.err != nil {
		scrapes = "not known: " + sh.err.Error()
	}
	t.add(fmt.Sprintf("%s: Prometheus' scrapes of the fleet's one endpoint (every 1 s, timeout 1 s) during the rollout: succeeded; the longest", what), scrapes, "–", "–", 0)
	t.add(fmt.Sprintf("%s: polls of the whole group (slots skipped); timed out (no answer in %s); failed", what, fleetPollTimeout), res.polls.counts(), "–", "–", 0)
	t.add(what+": poll latency p50 / p90 / p99 / max", res.polls.latencies(), "–", "–", 0)
	noteFailures("rollout fleet", res.polls)
	return nil
}

func addCrashRows(t *table, what string, o options, res rolloutResult) {
	c := res.crash
	what = fmt.Sprintf("%s; release %s crashes on start", what, crashVersion)
	t.add(what+": hosts that ever ran it", fmt.Sprintf("%d (%s)", len(res.ran), names(res.ran)), "1 (web-0001)", "goal: the canary only", float64(len(res.ran)))
	if !c.halted {
		t.add(what+": the decision that stopped it", "not halted before the deadline; last decision: "+c.decision, "–", "–", 0)
		return
	}
	goal := o.rolloutPeriod + time.Second + o.rolloutPromoteEvery
	t.add(what+": commit to halt pushed", secs(c.after), secs(goal),
		fmt.Sprintf("goal: one period + 1 s scrape + %s promoter interval", secs(o.rolloutPromoteEvery)), durRatio(c.after, goal))
	t.add(what+": the decision that stopped it", c.decision, "–", "–", 0)
}

func addGoodRows(t *table, what string, o options, g goodResult) {
	// The goal of a step: its soak, one poll period for every agent to read
	// the commit, and the jitter of the loop: one scrape interval (1 s) for
	// Prometheus to see it, one promoter interval for the decision.
	over := o.rolloutPeriod + time.Second + o.rolloutPromoteEvery
	goalName := fmt.Sprintf("goal: soak + one period + 1 s scrape + %s promoter interval", secs(o.rolloutPromoteEvery))
	steps := 4
	total := "did not finish before the deadline; last decision: " + g.last
	if g.finished {
		total = secs(g.total)
	}
	goal := time.Duration(steps) * (o.rolloutSoak + over)
	t.add(fmt.Sprintf("%s; release %s: first commit to finish (%d steps, soaks sum to %s)", what, goodVersion, steps, secs(time.Duration(steps)*o.rolloutSoak)),
		total, secs(goal), goalName+", per step", durRatio(g.total, goal))
	for _, s := range g.steps {
		to := fmtPct(s.to)
		if s.finish {
			to = "finish (plain file)"
		}
		t.add(fmt.Sprintf("%s; release %s: step %s -> %s", what, goodVersion, fmtPct(s.from), to), secs(s.took), secs(o.rolloutSoak+over), goalName, durRatio(s.took, o.rolloutSoak+over))
	}
}

func addPromoterRows(t *table, what string, g goodResult) {
	var walls, queries, pushedWalls, asking []float64
	errs := 0
	for _, r := range g.runs {
		if r.err != nil {
			errs++
			continue
		}
		walls = append(walls, ms(r.wall()))
		queries = append(queries, float64(r.queries))
		asking = append(asking, ms(r.asking))
		if r.res.Rev != "" {
			pushedWalls = append(pushedWalls, ms(r.wall()))
		}
	}
	if len(walls) == 0 || len(g.curls) == 0 {
		t.add(what+": one promoter run", fmt.Sprintf("%d runs, %d failed", len(g.runs), errs), fmt.Sprintf("%d curls, %d failed (%v)", len(g.curls), g.curlErrs, g.curlErr), "curl -s one Prometheus query", 0)
		return
	}
	var curls []float64
	for _, c := range g.curls {
		curls = append(curls, ms(c))
	}
	w, q, c, pw, a := summarize(walls), summarize(queries), summarize(curls), summarize(pushedWalls), summarize(asking)
	curlName := fmt.Sprintf("`curl -s '…/api/v1/query?query=count by (state) (reconciler_rollout_state{rollout=\"web-%s\"} == 1)'`, one after each run (%d)", goodVersion, len(curls))
	t.add(fmt.Sprintf("%s: one promoter run (clone, decide, commit and push unless hold), wall time; %d runs of release %s's rollout, %d failed; the %d that pushed: %s; of a run, its Prometheus queries: %s",
		what, len(g.runs), goodVersion, errs, len(pushedWalls), pw.String("ms"), a.String("ms")), w.String("ms"), c.String("ms"), curlName, w.med/c.med)
	t.add(what+": Prometheus queries per promoter run", fmt.Sprintf("%s (%s–%s)", num(q.med), num(q.min), num(q.max)), "1", curlName, q.med)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func fmtPct(p float64) string { return fmt.Sprintf("%v%%", p) }

// durRatio is a/b, 0 (no ratio) when either is not positive.
func durRatio(a, b time.Duration) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// names lists a few host ids: "web-0001, web-0002 and 3 more".
func names(ids []string) string {
	if len(ids) <= 3 {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:3], ", ") + fmt.Sprintf(" and %d more", len(ids)-3)
}
