package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// judgeBefore is the commit whose agent the judge rows measure against:
// the last one before a judgement survived the agent (issue 22).
const judgeBefore = "ebd7eef"

const (
	judgeRowBake   = 10 * time.Second // --health-bake
	judgeRowCrash  = "3s"             // the bad release dies this long after its start
	judgeRowWindow = 40 * time.Second // measured from the bad commit
)

// judgeRows: a release that comes up healthy and dies 3 s after its start
// is committed; the agent (run --health-bake 10s) is restarted (SIGTERM,
// then a new agent of the same binary) while it bakes it. Under a load
// loop: requests failed in the 40 s from the commit, and the time from the
// restart until the previous release serves again and the revision is
// recorded failed. Ours against the agent of commit ebd7eef, built in the
// same run from `git archive`.
func judgeRows(t *table, work string) error {
	apps, err := appBuildsOf(filepath.Join(work, "judge-builds"), "./cmd/exampleapp", 2)
	if err != nil {
		return err
	}
	ours, err := reconcilerBinary(work)
	if err != nil {
		return err
	}
	old, err := buildAtCommit(work, judgeBefore)
	if err != nil {
		return err
	}
	var res [2]judgeResult
	for i, bin := range []string{ours, old} {
		if res[i], err = judgeRun(work, fmt.Sprintf("judge%d", i), bin, apps); err != nil {
			return fmt.Errorf("%s: %w", []string{"ours", judgeBefore}[i], err)
		}
	}
	what := fmt.Sprintf("release dying %s after its start, agent restarted (SIGTERM) mid --health-bake %s", judgeRowCrash, judgeRowBake)
	alt := "agent of " + judgeBefore
	ratio := 0.0
	if res[1].failed > 0 {
		ratio = float64(res[0].failed) / float64(res[1].failed)
	}
	t.add(what+fmt.Sprintf(": requests failed in the %s from the commit", judgeRowWindow), res[0].load(), res[1].load(), alt, ratio)
	t.add(what+": restart to the previous release serving again, recorded failed", res[0].back(), res[1].back(), alt, 0)
	return nil
}

// judgeResult is one run of the judge rows.
type judgeResult struct {
	ok, failed int64
	backIn     time.Duration // 0: not within the window
}

func (r judgeResult) load() string {
	return fmt.Sprintf("%d of %d", r.failed, r.ok+r.failed)
}

func (r judgeResult) back() string {
	if r.backIn == 0 {
		return fmt.Sprintf("never (not within %s)", judgeRowWindow)
	}
	return r.backIn.Round(10 * time.Millisecond).String()
}

// judgeRun is one agent binary through the scenario.
func judgeRun(work, name, self string, apps map[int]string) (judgeResult, error) {
	extra := []string{"--health-bake", judgeRowBake.String(), "--health-timeout", "10s"}
	b, err := startAgentBench(work, name, self, apps, extra...)
	if err != nil {
		return judgeResult{}, err
	}
	defer b.stop()
	if err := b.waitApplied("1", time.Minute); err != nil {
		return judgeResult{}, err
	}
	load := loadgen.Start(context.Background(), loadgen.Options{URL: "http://" + b.addr + "/", Workers: 2, Timeout: 2 * time.Second})
	commit := time.Now()
	if err := b.commitCrashing(2); err != nil {
		load.Stop()
		return judgeResult{}, err
	}
	if err := b.waitLog(`"msg":"baking the release"`, `release/app.2`, time.Minute); err != nil {
		load.Stop()
		return judgeResult{}, err
	}
	restarted, err := b.restart()
	if err != nil {
		load.Stop()
		return judgeResult{}, err
	}
	var r judgeResult
	for time.Since(commit) < judgeRowWindow {
		if r.backIn == 0 && b.failedRecorded() && b.waitServing(1, 50*time.Millisecond) == nil {
			r.backIn = time.Since(restarted)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := load.Stop()
	r.ok, r.failed = res.OK, res.Failed
	return r, nil
}

// commitCrashing commits version v with a config that makes it die
// judgeRowCrash after its start.
func (b *agentBench) commitCrashing(v int) error {
	sum, err := fileSHA(b.apps[v])
	if err != nil {
		return err
	}
	cfg, _ := json.Marshal(map[string]string{"listen": b.addr, "message": "bench", "crash_after": judgeRowCrash})
	os.WriteFile(filepath.Join(b.repo, "web", fmt.Sprintf("cfg-%d.json", v)), cfg, 0o644)
	desired := fmt.Sprintf(`{"version":"%d","bin":{"url":"%s/app-%d","sha256":"%s"},"cfg":{"path":"web/cfg-%d.json"}}`, v, b.artURL, v, sum, v)
	os.WriteFile(filepath.Join(b.repo, "web", "current.conf"), []byte(desired), 0o644)
	if err := runCmd(b.repo, "git", "add", "-A"); err != nil {
		return err
	}
	return runCmd(b.repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
		"commit", "-q", "-m", fmt.Sprintf("web %d, dying after %s", v, judgeRowCrash))
}

// restart stops the agent with SIGTERM and starts the same command again,
// logging to the same file; it returns when the new one was started.
func (b *agentBench) restart() (time.Time, error) {
	now := time.Now()
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Wait()
	next := exec.Command(b.cmd.Path, b.cmd.Args[1:]...)
	logf, err := os.OpenFile(b.logFile, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return now, err
	}
	next.Stdout, next.Stderr = logf, logf
	b.cmd = next
	return now, next.Start()
}

// state reads the agent's state file.
func (b *agentBench) state() map[string]json.RawMessage {
	var st map[string]json.RawMessage
	data, _ := os.ReadFile(filepath.Join(b.dir, ".reconciler", "state.json"))
	json.Unmarshal(data, &st)
	return st
}

func (b *agentBench) waitApplied(version string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var a struct{ Version string }
		if json.Unmarshal(b.state()["applied"], &a) == nil && a.Version == version {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("version %s not applied within %s (see %s)", version, limit, b.logFile)
}

// failedRecorded reports whether the state records a failed revision.
func (b *agentBench) failedRecorded() bool {
	f, ok := b.state()["failed"]
	return ok && len(f) > 2
}

// waitLog waits for a line of the agent's log holding both strings.
func (b *agentBench) waitLog(a, c string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(b.logFile)
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, a) && strings.Contains(l, c) {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no log line with %s and %s within %s (see %s)", a, c, limit, b.logFile)
}
