package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// gitRows measures the no-change poll and the first contact on a deploy
// repo of n commits served over smart HTTP on 127.0.0.1.
func gitRows(t *table, work string, n int, o options) error {
	root := filepath.Join(work, fmt.Sprintf("repos-%d", n))
	bare := filepath.Join(root, "deploy.git")
	if err := makeRepo(bare, n, o.oldMiB, []byte(`{"version":"1.0","bin":{"path":"web/app"}}`)); err != nil {
		return err
	}
	srv, err := startGitServer(root)
	if err != nil {
		return err
	}
	defer srv.Close()
	url := srv.URL + "/deploy.git"
	label := fmt.Sprintf("%d commits, %d MiB repo", n, dirSize(bare)>>20)

	if err := firstContactRows(t, work, url, label, o); err != nil {
		return err
	}
	return pollRows(t, work, url, label, n, srv, o)
}

func firstContactRows(t *table, work, url, label string, o options) error {
	var ours, shallow, full []sample
	for i := 0; i < o.runs; i++ {
		dir, _ := os.MkdirTemp(work, "fc-")
		s, err := runChild("first-contact", url, filepath.Join(dir, "ours"))
		if err != nil {
			return err
		}
		ours = append(ours, s)
		if s, err = runProc(dir, "git", "clone", "-q", "--depth", "1", "--no-checkout", url, "shallow"); err != nil {
			return err
		}
		shallow = append(shallow, s)
		if s, err = runProc(dir, "git", "clone", "-q", "--no-checkout", url, "full"); err != nil {
			return err
		}
		full = append(full, s)
		os.RemoveAll(dir)
	}
	for _, alt := range []struct {
		name string
		s    []sample
	}{{"git clone --depth 1 --no-checkout", shallow}, {"git clone --no-checkout", full}} {
		ow, aw := wallMs(ours), wallMs(alt.s)
		t.add("first contact, wall ("+label+")", ow.String("ms"), aw.String("ms"), alt.name, ow.med/aw.med)
		or, ar := rssMiB(ours), rssMiB(alt.s)
		t.add("first contact, peak RSS ("+label+")", or.String("MiB"), ar.String("MiB"), alt.name, or.med/ar.med)
	}
	return nil
}

// pollRows compares the cost of a poll that finds nothing new.
func pollRows(t *table, work, url, label string, n int, srv *gittest.HTTPServer, o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir, _ := os.MkdirTemp(work, "poll-")
	eng, err := newEngine(url, filepath.Join(dir, "app"))
	if err != nil {
		return err
	}
	if _, err := eng.Sync(ctx); err != nil { // first contact, not measured
		return err
	}
	if err := runQuiet(dir, "git", "clone", "-q", "--no-checkout", url, "clone"); err != nil {
		return err
	}
	var agentWall, agentCPU, lsWall, lsCPU, fetchWall, fetchCPU []float64
	var uploads, listings int64
	for r := 0; r < o.runs; r++ {
		before := srv.Stats()
		start, cpu := time.Now(), selfCPU()
		for i := 0; i < o.polls; i++ {
			out, err := eng.Sync(ctx)
			if err != nil || out.Result != reconcile.PollUnchanged {
				return fmt.Errorf("no-change poll: %v %v", out.Result, err)
			}
		}
		agentWall = append(agentWall, ms(time.Since(start))/float64(o.polls))
		agentCPU = append(agentCPU, ms(selfCPU()-cpu)/float64(o.polls))
		after := srv.Stats()
		uploads += after.UploadPacks - before.UploadPacks
		listings += after.RefListings + after.Adverts - before.RefListings - before.Adverts
		w, c, err := perPoll(o.polls, "", "git", "ls-remote", url, "refs/heads/main")
		if err != nil {
			return err
		}
		lsWall, lsCPU = append(lsWall, w), append(lsCPU, c)
		if w, c, err = perPoll(o.polls, filepath.Join(dir, "clone"), "git", "fetch", "-q", "origin"); err != nil {
			return err
		}
		fetchWall, fetchCPU = append(fetchWall, w), append(fetchCPU, c)
	}
	aw, ac := summarize(agentWall), summarize(agentCPU)
	o.plots.pollCommits = append(o.plots.pollCommits, float64(n))
	o.plots.pollOurs = append(o.plots.pollOurs, ac.med)
	o.plots.pollLs = append(o.plots.pollLs, summarize(lsCPU).med)
	what := fmt.Sprintf("no-change poll (%s; agent: %d ref listings, %d object transfers in %d polls)", label, listings, uploads, o.runs*o.polls)
	for _, alt := range []struct {
		name      string
		wall, cpu stat
	}{{"git ls-remote", summarize(lsWall), summarize(lsCPU)}, {"git fetch (up-to-date clone)", summarize(fetchWall), summarize(fetchCPU)}} {
		t.add(what+", wall per poll", aw.String("ms"), alt.wall.String("ms"), alt.name, aw.med/alt.wall.med)
		t.add(what+", CPU per poll", ac.String("ms"), alt.cpu.String("ms"), alt.name+" (client CPU)", ac.med/alt.cpu.med)
	}
	return nil
}

// newEngine is the agent's poll: the real engine with the real git source
// and cache, as `reconciler run` wires it.
func newEngine(url, dir string) (*reconcile.Engine, error) {
	layout, err := reconcile.NewLayout(dir)
	if err != nil {
		return nil, err
	}
	src, err := gitsrc.New(gitsrc.Options{URL: url, CacheDir: layout.GitCache()})
	if err != nil {
		return nil, err
	}
	return &reconcile.Engine{Layout: layout, Path: "web/current.conf", Repo: src, Download: &artifacts.Fetcher{}}, nil
}

// perPoll runs a command n times; it returns wall and client CPU per run in ms.
func perPoll(n int, dir, name string, args ...string) (float64, float64, error) {
	var wall, cpu time.Duration
	for i := 0; i < n; i++ {
		s, err := runProc(dir, name, args...)
		if err != nil {
			return 0, 0, err
		}
		wall += s.wall
		cpu += s.cpu
	}
	return ms(wall) / float64(n), ms(cpu) / float64(n), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func wallMs(s []sample) stat {
	var xs []float64
	for _, x := range s {
		xs = append(xs, ms(x.wall))
	}
	return summarize(xs)
}

func rssMiB(s []sample) stat {
	var xs []float64
	for _, x := range s {
		xs = append(xs, float64(x.rssKiB)/1024)
	}
	return summarize(xs)
}

func runQuiet(dir, name string, args ...string) error { return runCmd(dir, name, args...) }

func runOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return strings.TrimSpace(string(out)), err
}
