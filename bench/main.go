// Command bench measures reconciler against the tools a user would
// otherwise use (git, curl + sha256sum), in the same run, on loopback only,
// and prints one Markdown table. See docs/benchmarks.md.
//
//	go run ./bench                      # the default: about 22 minutes on 2 cores, every group (the cache group about 10)
//	go run ./bench -plots docs -agent-polls 100 -fleet 100,500,1000 -fleet-period 15s -fleet-for 45s   # docs/benchmarks.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	commits     []int
	refs        []int // ref counts of the refs rows
	refPolls    int
	oldMiB      int
	polls, runs int
	artifactMiB int
	switches    int
	bumps       int
	bumpCommits int // commits and tags of the bump rows' deploy repo
	agentPolls  int
	fleet       []int
	fleetRefs   int // tags added to the fleet's deploy repo
	fleetPeriod time.Duration
	fleetFor    time.Duration
	plotDir     string
	plots       *plotData
	only        string
	selfUpdates int           // handovers per mode of the selfupdate rows
	apps        int           // apps of the apps rows
	appsIdle    time.Duration // idle window of each side of the apps rows

	cacheFleet  []int         // fleet sizes of the cache rows
	cachePeriod time.Duration // their poll period
	cacheFor    time.Duration // how long each fleet of the cache rows polls
	cacheCLI    int           // `git fetch` clients of the cache rows

	rolloutAgents       int           // simulated agents of the rollout rows
	rolloutPeriod       time.Duration // their poll period
	rolloutSoak         time.Duration // each step's soak
	rolloutPromoteEvery time.Duration // the promoter's interval
	rolloutLog          bool          // print each promoter decision to stderr

	wrongDigestPolls  int    // polls of a wrong sha256 pin per side
	wrongDigestBefore string // the commit whose agent is the "before"
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-child" {
		if err := childMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// group is one group of rows (-only NAME).
type group struct {
	name string
	run  func(ctx context.Context) error
}

func run(ctx context.Context, args []string, out, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "reconciler-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	t := &table{}
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, %s; %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), gitVersion())
	fmt.Fprintf(out, "run: %s, -runs %d -polls %d -old-mib %d -artifact-mib %d -fleet %s -fleet-refs %d -fleet-period %s -fleet-for %s -cache-fleet %s -cache-period %s -cache-for %s -cache-cli %d -rollout-agents %d -rollout-period %s -rollout-soak %s\n\n",
		time.Now().UTC().Format(time.RFC3339), o.runs, o.polls, o.oldMiB, o.artifactMiB, intsString(o.fleet), o.fleetRefs, o.fleetPeriod, o.fleetFor,
		intsString(o.cacheFleet), o.cachePeriod, o.cacheFor, o.cacheCLI,
		o.rolloutAgents, o.rolloutPeriod, o.rolloutSoak)
	failed := runGroups(ctx, t, stderr, o.only, groups(t, work, o))
	t.print(out)
	if err := writePlots(o.plotDir, o.plots); err != nil {
		failed = append(failed, fmt.Sprintf("plots: %v", err))
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed (see the table and the lines above): %s", strings.Join(failed, "; "))
	}
	return nil
}

func groups(t *table, work string, o options) []group {
	return []group{
		{"git", func(context.Context) error {
			for _, n := range o.commits {
				if err := gitRows(t, work, n, o); err != nil {
					return err
				}
			}
			return nil
		}},
		{"refs", func(ctx context.Context) error { return refsRows(ctx, t, work, o) }},
		{"download", func(context.Context) error { return downloadRows(t, work, o) }},
		{"stores", func(ctx context.Context) error { return storeRows(ctx, t, work, o) }},
		{"switch", func(context.Context) error { return switchRows(t, work, o) }},
		{"agent", func(context.Context) error { return agentRows(t, work, o) }},
		{"notify", func(context.Context) error { return notifyRows(t, work, o) }},
		{"fleet", func(ctx context.Context) error { return fleetRows(ctx, t, work, o) }},
		{"cache", func(ctx context.Context) error { return cacheRows(ctx, t, work, o) }},
		{"rollout", func(ctx context.Context) error { fairnessRows(t); return rolloutRows(ctx, t, work, o) }},
		{"apps", func(ctx context.Context) error { return appsRows(ctx, t, work, o) }},
		{"wrongdigest", func(ctx context.Context) error { return wrongDigestRows(ctx, t, work, o) }},
		{"bump", func(context.Context) error { return bumpRows(t, work, o) }},
		{"judge", func(context.Context) error { return judgeRows(t, work) }},
		{"crashloop", func(context.Context) error { return crashLoopRows(t, work) }},
		{"selfupdate", func(ctx context.Context) error { return selfUpdateRows(ctx, t, work, o) }},
		{"agentrefs", func(ctx context.Context) error { return agentRefsRows(ctx, t, work, o) }},
	}
}

// runGroups runs the groups in order (or only the one named), keeping the
// rows of every group: a group that fails gets a row saying so, and the
// next group still runs. It returns the names of the groups that failed.
func runGroups(ctx context.Context, t *table, stderr io.Writer, only string, gs []group) []string {
	var failed []string
	for _, g := range gs {
		if only != "" && only != g.name {
			continue
		}
		if err := ctx.Err(); err != nil {
			t.add(g.name+" rows: not run", "interrupted", "–", "–", 0)
			failed = append(failed, g.name+" (not run)")
			continue
		}
		start := time.Now()
		if err := g.run(ctx); err != nil {
			t.add(g.name+" rows: FAILED", err.Error(), "–", "–", 0)
			fmt.Fprintf(stderr, "bench: %s rows failed after %s: %v\n", g.name, time.Since(start).Round(time.Second), err)
			failed = append(failed, g.name)
			continue
		}
		fmt.Fprintf(stderr, "bench: %s rows done in %s\n", g.name, time.Since(start).Round(time.Second))
	}
	return failed
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commits := fs.String("commits", "10,10000", "deploy repo sizes, in commits")
	var o options
	fs.IntVar(&o.oldMiB, "old-mib", 40, "MiB of blobs that only old commits hold")
	fs.IntVar(&o.polls, "polls", 20, "no-change polls per run")
	refs := fs.String("refs", "10,10000,100000", "deploy repo ref counts of the refs rows")
	fs.IntVar(&o.refPolls, "ref-polls", 20, "no-change polls per run of the refs rows")
	fs.IntVar(&o.runs, "runs", 5, "runs of each measurement (median, min, max)")
	fs.IntVar(&o.artifactMiB, "artifact-mib", 256, "size of the downloaded artifact")
	fs.IntVar(&o.switches, "switches", 10, "switches under load")
	fs.IntVar(&o.bumps, "bumps", 10, "commits for the commit-to-serving latency")
	fs.IntVar(&o.bumpCommits, "bump-commits", 10000, "commits, and tags, of the bump rows' deploy repo")
	fs.IntVar(&o.agentPolls, "agent-polls", 60, "no-change polls for the agent's footprint (one a second)")
	// Two sizes, one at ease and one that saturates 2 cores, keep the default
	// run within about 12 minutes with the other groups; docs/benchmarks.md's run adds 500.
	fleet := fs.String("fleet", "100,1000", "fleet sizes (simulated agents)")
	fs.IntVar(&o.fleetRefs, "fleet-refs", 0, "tags added to the fleet's deploy repo (0: main is its only ref)")
	fs.DurationVar(&o.fleetPeriod, "fleet-period", 10*time.Second, "each simulated agent's poll period")
	fs.DurationVar(&o.fleetFor, "fleet-for", 30*time.Second, "how long each fleet polls")
	// The cache rows (issue 29): the sizes and period of docs/benchmarks.md.
	// 5,000 agents without the cache saturate 2 cores: a figure of the rows.
	cacheFleet := fs.String("cache-fleet", "1000,5000", "fleet sizes of the cache rows (agents polling through nginx, without and with the ls-refs cache)")
	fs.DurationVar(&o.cachePeriod, "cache-period", 15*time.Second, "each simulated agent's poll period in the cache rows")
	// 60 s: a period to settle, a third of the rest idle, then the commit
	// with more than a period and the cache time left to reach everyone.
	fs.DurationVar(&o.cacheFor, "cache-for", time.Minute, "how long each fleet of the cache rows polls")
	// 1,000 git fetch processes every 15 s saturate 2 cores by themselves.
	fs.IntVar(&o.cacheCLI, "cache-cli", 250, "`git fetch` clients of the cache rows (the comparison with git's own client)")
	fs.StringVar(&o.plotDir, "plots", "", "write SVG charts into this directory (e.g. docs)")
	fs.StringVar(&o.only, "only", "", "run only one group of rows: git, refs, download, switch, agent, notify, fleet, cache, rollout, apps, wrongdigest, bump, judge, stores, crashloop, selfupdate")
	fs.IntVar(&o.selfUpdates, "self-updates", 6, "handovers of the agent to its next version, per mode, in the selfupdate rows")
	fs.IntVar(&o.apps, "apps", 10, "apps of the apps rows: one agent for all (run --apps-dir) against one agent each")
	fs.DurationVar(&o.appsIdle, "apps-idle", time.Minute, "how long each side of the apps rows polls idle (@every 1s)")
	// A rollout of four steps, then a plain bump as long, take about 4 ×
	// (soak + period) twice: a 5 s period keeps the group within about 2
	// minutes, and 250 agents every 5 s load the git server as 1,000 every
	// 20 s do (1,000 every 5 s saturate 2 cores). docs/benchmarks.md's run
	// is -rollout-agents 1000 -rollout-period 15s.
	fs.IntVar(&o.rolloutAgents, "rollout-agents", 250, "simulated agents of the rollout rows (web-0001 …)")
	fs.DurationVar(&o.rolloutPeriod, "rollout-period", 5*time.Second, "each simulated agent's poll period in the rollout rows")
	fs.DurationVar(&o.rolloutSoak, "rollout-soak", 3*time.Second, "each step's soak in the rollout rows (seconds, where a real rollout soaks for an hour)")
	fs.DurationVar(&o.rolloutPromoteEvery, "rollout-promote-every", time.Second, "the promoter's interval in the rollout rows")
	fs.BoolVar(&o.rolloutLog, "rollout-log", false, "print each promoter decision of the rollout rows to stderr")
	fs.IntVar(&o.wrongDigestPolls, "wrongdigest-polls", 30, "polls of a wrong sha256 pin per side of the wrongdigest rows (docs/benchmarks.md: 100)")
	fs.StringVar(&o.wrongDigestBefore, "wrongdigest-before", "ebd7eef", "the commit whose agent is the wrongdigest rows' before (built in the run)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.commits, err = intList("-commits", *commits); err != nil {
		return o, err
	}
	if o.refs, err = intList("-refs", *refs); err != nil {
		return o, err
	}
	if o.fleet, err = intList("-fleet", *fleet); err != nil {
		return o, err
	}
	if o.fleetRefs < 0 {
		return o, fmt.Errorf("-fleet-refs %d: want 0 or more", o.fleetRefs)
	}
	if o.cacheFleet, err = intList("-cache-fleet", *cacheFleet); err != nil {
		return o, err
	}
	if o.cacheCLI < 1 {
		return o, fmt.Errorf("-cache-cli %d: want 1 or more", o.cacheCLI)
	}
	if o.cacheFor <= o.cachePeriod {
		return o, fmt.Errorf("-cache-for %s: want more than -cache-period %s (the first period is the fleet's first contact)", o.cacheFor, o.cachePeriod)
	}
	if o.fleetFor <= o.fleetPeriod {
		return o, fmt.Errorf("-fleet-for %s: want more than -fleet-period %s (the first period is the fleet's first contact)", o.fleetFor, o.fleetPeriod)
	}
	if o.rolloutAgents < 1 || o.rolloutPeriod <= 0 || o.rolloutSoak < time.Second || o.rolloutPromoteEvery <= 0 {
		return o, fmt.Errorf("-rollout-agents %d -rollout-period %s -rollout-soak %s -rollout-promote-every %s: want at least 1 agent, a positive period and interval, a soak of 1s or more",
			o.rolloutAgents, o.rolloutPeriod, o.rolloutSoak, o.rolloutPromoteEvery)
	}
	if o.wrongDigestPolls < 2 {
		return o, fmt.Errorf("-wrongdigest-polls %d: want 2 or more", o.wrongDigestPolls)
	}
	o.plots = &plotData{}
	return o, nil
}

func intList(flag, s string) ([]int, error) {
	var out []int
	for _, c := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s %q: want a list of positive numbers", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func intsString(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func gitVersion() string {
	out, err := runOut("git", "--version")
	if err != nil {
		return "git: " + err.Error()
	}
	return strings.TrimSpace(out)
}
