// Command bench measures reconciler against the tools a user would
// otherwise use (git, curl + sha256sum), in the same run, on loopback only,
// and prints one Markdown table. See docs/benchmarks.md.
//
//	go run ./bench                      # the default: about 6 minutes on 2 cores
//	go run ./bench -plots docs -agent-polls 100 -fleet-period 15s -fleet-for 45s   # docs/benchmarks.md
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type options struct {
	commits     []int
	oldMiB      int
	polls, runs int
	artifactMiB int
	switches    int
	bumps       int
	agentPolls  int
	fleet       []int
	fleetPeriod time.Duration
	fleetFor    time.Duration
	plotDir     string
	plots       *plotData
	only        string
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-child" {
		if err := childMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	commits := fs.String("commits", "10,10000", "deploy repo sizes, in commits")
	var o options
	fs.IntVar(&o.oldMiB, "old-mib", 40, "MiB of blobs that only old commits hold")
	fs.IntVar(&o.polls, "polls", 20, "no-change polls per run")
	fs.IntVar(&o.runs, "runs", 5, "runs of each measurement (median, min, max)")
	fs.IntVar(&o.artifactMiB, "artifact-mib", 256, "size of the downloaded artifact")
	fs.IntVar(&o.switches, "switches", 10, "switches under load")
	fs.IntVar(&o.bumps, "bumps", 10, "commits for the commit-to-serving latency")
	fs.IntVar(&o.agentPolls, "agent-polls", 60, "no-change polls for the agent's footprint (one a second)")
	fleet := fs.String("fleet", "100,500,1000", "fleet sizes (simulated agents)")
	fs.DurationVar(&o.fleetPeriod, "fleet-period", 10*time.Second, "each simulated agent's poll period")
	fs.DurationVar(&o.fleetFor, "fleet-for", 30*time.Second, "how long each fleet polls")
	fs.StringVar(&o.plotDir, "plots", "", "write SVG charts into this directory (e.g. docs)")
	fs.StringVar(&o.only, "only", "", "run only one group of rows: git, download, switch, agent, fleet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.commits, err = intList("-commits", *commits); err != nil {
		return err
	}
	if o.fleet, err = intList("-fleet", *fleet); err != nil {
		return err
	}
	o.plots = &plotData{}
	work, err := os.MkdirTemp("", "reconciler-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	t := &table{}
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, %s; %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), gitVersion())
	fmt.Fprintf(out, "run: %s, -runs %d -polls %d -old-mib %d -artifact-mib %d\n\n", time.Now().UTC().Format(time.RFC3339), o.runs, o.polls, o.oldMiB, o.artifactMiB)
	groups := []struct {
		name string
		run  func() error
	}{
		{"git", func() error {
			for _, n := range o.commits {
				if err := gitRows(t, work, n, o); err != nil {
					return err
				}
			}
			return nil
		}},
		{"download", func() error { return downloadRows(t, work, o) }},
		{"switch", func() error { return switchRows(t, work, o) }},
		{"agent", func() error { return agentRows(t, work, o) }},
		{"fleet", func() error { return fleetRows(t, work, o) }},
	}
	for _, g := range groups {
		if o.only != "" && o.only != g.name {
			continue
		}
		start := time.Now()
		if err := g.run(); err != nil {
			return fmt.Errorf("%s rows: %w", g.name, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s rows done in %s\n", g.name, time.Since(start).Round(time.Second))
	}
	t.print(out)
	return writePlots(o.plotDir, o.plots)
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

func gitVersion() string {
	out, err := runOut("git", "--version")
	if err != nil {
		return "git: " + err.Error()
	}
	return strings.TrimSpace(out)
}
