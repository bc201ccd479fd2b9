package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// crashLoopBase is the commit whose agent the crash-loop row is measured
// against: the last one before the exit watch and --crash-loop.
const crashLoopBase = "ebd7eef"

// crashLoopFor is how long the load runs from the bump.
const crashLoopFor = 30 * time.Second

// crashLoopRows: release 2 comes up healthy and dies 3 s after each start,
// with the default --health-bake 0; requests failed in the 30 s after its
// bump, and when the agent switched back to 1, for this build and for the
// agent of crashLoopBase, built from that commit in the same run.
func crashLoopRows(t *table, work string) error {
	apps, err := appBuilds(filepath.Join(work, "crashloop-builds"), 2)
	if err != nil {
		return err
	}
	self, err := reconcilerBinary(work)
	if err != nil {
		return err
	}
	old, err := commitBinary(work, crashLoopBase)
	if err != nil {
		return err
	}
	ours, err := crashLoopRun(work, "crashloop-new", self, apps)
	if err != nil {
		return err
	}
	base, err := crashLoopRun(work, "crashloop-old", old, apps)
	if err != nil {
		return err
	}
	ratio := 0.0
	if base.load.Failed > 0 {
		ratio = float64(ours.load.Failed) / float64(base.load.Failed)
	}
	t.add("release dying 3 s after start, no bake: requests failed in 30 s from the bump", ours.String(),
		base.String(), "agent of "+crashLoopBase+" (same run)", ratio)
	return nil
}

// crashLoopResult is one agent's 30 s with a crash-looping release.
type crashLoopResult struct {
	load loadgen.Result
	back time.Duration // bump to 1 serving again; 0: not within the run
}

func (r crashLoopResult) String() string {
	s := fmt.Sprintf("%d of %d failed", r.load.Failed, r.load.OK+r.load.Failed)
	if r.back > 0 {
		return s + fmt.Sprintf("; switched back to 1 after %.1f s", r.back.Seconds())
	}
	return s + "; never switched back"
}

func crashLoopRun(work, name, bin string, apps map[int]string) (crashLoopResult, error) {
	b, err := startAgentBench(work, name, bin, apps)
	if err != nil {
		return crashLoopResult{}, err
	}
	defer b.stop()
	b.cfgExtra = map[int]map[string]any{2: {"crash_after": "3s"}}
	if err := b.waitServing(1, time.Minute); err != nil {
		return crashLoopResult{}, err
	}
	time.Sleep(1500 * time.Millisecond) // settled: the first poll's start is over
	load := loadgen.Start(context.Background(), loadgen.Options{URL: "http://" + b.addr + "/", Workers: 4, Timeout: 2 * time.Second})
	start := time.Now()
	if err := b.commitVersion(2); err != nil {
		load.Stop()
		return crashLoopResult{}, err
	}
	var res crashLoopResult
	if err := b.waitServing(2, 10*time.Second); err == nil {
		if b.waitServing(1, crashLoopFor-time.Since(start)) == nil {
			res.back = time.Since(start)
		}
	}
	time.Sleep(crashLoopFor - time.Since(start))
	res.load = load.Stop()
	return res, nil
}

// commitBinary builds the reconciler command of commit rev (git archive
// of this clone, built with the module cache) into work, once per run.
func commitBinary(work, rev string) (string, error) {
	out := filepath.Join(work, "reconciler-"+rev)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	src := filepath.Join(work, "src-"+rev)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := runCmd("", "sh", "-c", fmt.Sprintf("git archive --format=tar %s | tar -x -C %s", rev, src)); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	return out, runCmd(src, "go", "build", "-o", abs, "./cmd/reconciler")
}
