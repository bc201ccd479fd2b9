package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// wrongDigestRows (issue 22): a commit that pins the wrong sha256, and what
// the artifact store serves one real agent over that many polls at @every
// 1s, for the agent built from another commit (-wrongdigest-before, by
// default the commit before the fix, built in this run from `git archive`)
// and for this tree's.
func wrongDigestRows(ctx context.Context, t *table, work string, o options) error {
	apps, err := appBuilds(filepath.Join(work, "wd-builds"), 2)
	if err != nil {
		return err
	}
	before, err := buildAtCommit(work, o.wrongDigestBefore)
	if err != nil {
		return err
	}
	after, err := reconcilerBinary(work)
	if err != nil {
		return err
	}
	size := fileSize(apps[2])
	var got [2]storeCount
	for i, bin := range []string{before, after} {
		if got[i], err = wrongDigestRun(ctx, work, fmt.Sprintf("wd-%d", i), bin, apps, o.wrongDigestPolls); err != nil {
			return err
		}
	}
	show := func(c storeCount) string {
		return fmt.Sprintf("%.1f MiB in %d GETs", float64(c.bytes)/(1<<20), c.requests)
	}
	what := fmt.Sprintf("artifact store, wrong sha256 pinned: %d polls @every 1s of one agent (%.1f MiB artifact)", o.wrongDigestPolls, float64(size)/(1<<20))
	t.add(what, show(got[1]), show(got[0]), "agent of "+o.wrongDigestBefore, float64(got[1].bytes)/float64(max(got[0].bytes, 1)))
	hour := func(c storeCount) float64 { // 1,000 hosts @every 30s: 120 polls an hour each
		if c.requests <= 1 {
			return float64(c.bytes) * 1000 / (1 << 30) // once per wrong commit, whatever the polls
		}
		return float64(c.bytes) / float64(o.wrongDigestPolls) * 120 * 1000 / (1 << 30)
	}
	t.add("same, extrapolated: 1,000 hosts @every 30s for an hour", fmt.Sprintf("%.1f GiB", hour(got[1])),
		fmt.Sprintf("%.1f GiB", hour(got[0])), "agent of "+o.wrongDigestBefore, hour(got[1])/hour(got[0]))
	return nil
}

type storeCount struct{ requests, bytes int64 }

// wrongDigestRun deploys app 1 with the agent bin, commits app 2 served by
// a counting store under a wrong pin, and counts what the store served
// until the agent has polled that many times more.
func wrongDigestRun(ctx context.Context, work, name, bin string, apps map[int]string, polls int) (storeCount, error) {
	b, err := startAgentBench(work, name, bin, apps)
	if err != nil {
		return storeCount{}, err
	}
	defer b.stop()
	if err := b.waitServing(1, time.Minute); err != nil {
		return storeCount{}, err
	}
	data, err := os.ReadFile(apps[2])
	if err != nil {
		return storeCount{}, err
	}
	var c struct{ requests, bytes atomic.Int64 }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return storeCount{}, err
	}
	store := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.requests.Add(1)
		n, _ := w.Write(data)
		c.bytes.Add(int64(n))
	})}
	go store.Serve(ln)
	defer store.Close()
	desired := fmt.Sprintf(`{"version":"2","bin":{"url":"http://%s/app-2","sha256":"%s"},"cfg":{"path":"web/cfg-1.json"}}`,
		ln.Addr(), strings.Repeat("0f", 32))
	start := b.metric(`reconciler_polls_total{result="error"}`)
	if err := b.commitDesired(desired); err != nil {
		return storeCount{}, err
	}
	deadline := time.Now().Add(time.Duration(3*polls+30) * time.Second)
	for b.metric(`reconciler_polls_total{result="error"}`) < start+float64(polls) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return storeCount{}, fmt.Errorf("%s: %d polls of the wrong pin not seen in time (see %s)", name, polls, b.logFile)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return storeCount{c.requests.Load(), c.bytes.Load()}, nil
}

// commitDesired commits web/current.conf as given.
func (b *agentBench) commitDesired(desired string) error {
	if err := os.WriteFile(filepath.Join(b.repo, "web", "current.conf"), []byte(desired), 0o644); err != nil {
		return err
	}
	return runCmd(b.repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
		"commit", "-q", "-am", "wrong pin")
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
