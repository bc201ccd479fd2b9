package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// notifyRows: commit to serving with a --notify-url whose receiver never
// answers, beside an agent with none, in one run. Two agents run side by
// side on their own repos and apps; the bumps alternate between them (and
// which goes first), so both see the same machine. The receiver reads each
// request and never answers: every delivery waits out its 10 s deadline and
// is retried, the worst a receiver can do. The goal is no difference
// beyond noise: delivery is never on the deploy's path.
func notifyRows(t *table, work string, o options) error {
	apps, err := appBuilds(filepath.Join(work, "notify-builds"), 2*o.bumps+1)
	if err != nil {
		return err
	}
	self := filepath.Join(work, "reconciler")
	if err := buildBinary(self, "./cmd/reconciler", ""); err != nil {
		return err
	}
	stall := testkit.NewStallingReceiver()
	defer stall.Close()
	none, err := startAgentBench(work, "notify-none", self, apps)
	if err != nil {
		return err
	}
	defer none.stop()
	stalled, err := startAgentBench(work, "notify-stalled", self, apps, "--notify-url", stall.URL+"/hook")
	if err != nil {
		return err
	}
	defer stalled.stop()
	for _, b := range []*agentBench{none, stalled} {
		if err := b.waitServing(1, time.Minute); err != nil {
			return err
		}
	}
	v := 1
	for _, trigger := range []bool{false, true} {
		lat := map[*agentBench][]float64{}
		for i := 0; i < o.bumps; i++ {
			v++
			order := []*agentBench{none, stalled}
			if i%2 == 1 {
				order = []*agentBench{stalled, none}
			}
			for _, b := range order {
				d, err := b.bump(v, trigger)
				if err != nil {
					return err
				}
				lat[b] = append(lat[b], ms(d))
			}
		}
		how := "@every 1s"
		if trigger {
			how = "POST /reconcile"
		}
		s, n := summarize(lat[stalled]), summarize(lat[none])
		t.add(fmt.Sprintf("commit to serving, %s, with a --notify-url that never answers (%d bumps)", how, o.bumps),
			s.String("ms"), n.String("ms"), "no --notify-url (same run, bumps alternated)", s.med/n.med)
	}
	if got := len(stall.Requests()); got == 0 {
		return fmt.Errorf("the stalled receiver got no request: the agent sent no notification (see %s)", stalled.logFile)
	}
	return nil
}
