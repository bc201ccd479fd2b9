package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
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

// pollRows compares the cost of a poll that finds nothing new. Ours is
// the real agent: the reconciler binary, `run` as a server runs it (the one
// engine constructor of every command), asked to poll with POST /reconcile
// one poll after the other. Wall per poll is the agent's own pass duration
// (reconciler_reconcile_duration_seconds); CPU per poll is the agent
// process's CPU over the polls, the HTTP trigger included.
func pollRows(t *table, work, url, label string, n int, srv *gittest.HTTPServer, o options) error {
	dir, _ := os.MkdirTemp(work, "poll-")
	a, err := startPollAgent(work, url, filepath.Join(dir, "app"))
	if err != nil {
		return err
	}
	defer a.stop()
	if err := runQuiet(dir, "git", "clone", "-q", "--no-checkout", url, "clone"); err != nil {
		return err
	}
	var agentWall, agentCPU, lsWall, lsCPU, fetchWall, fetchCPU []float64
	var uploads, listings int64
	for r := 0; r < o.runs; r++ {
		before := srv.Stats()
		sum0, count0 := a.metric("reconciler_reconcile_duration_seconds_sum"), a.metric("reconciler_reconcile_duration_seconds_count")
		cpu := procCPU(a.cmd.Process.Pid)
		for i := 0; i < o.polls; i++ {
			if err := a.pollOnce(); err != nil {
				return err
			}
		}
		cpu = procCPU(a.cmd.Process.Pid) - cpu
		sum1, count1 := a.metric("reconciler_reconcile_duration_seconds_sum"), a.metric("reconciler_reconcile_duration_seconds_count")
		if count1-count0 != float64(o.polls) {
			return fmt.Errorf("the agent made %v passes, want %d (see %s)", count1-count0, o.polls, a.logFile)
		}
		if v := a.metric(`reconciler_polls_total{result="unchanged"}`); v < float64((r+1)*o.polls) {
			return fmt.Errorf("no-change polls: %v unchanged, want %d (see %s)", v, (r+1)*o.polls, a.logFile)
		}
		agentWall = append(agentWall, (sum1-sum0)*1000/float64(o.polls))
		agentCPU = append(agentCPU, ms(cpu)/float64(o.polls))
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

// pollAgent is a real `reconciler run` that polls when asked.
type pollAgent struct {
	dir, listen, logFile string
	cmd                  *exec.Cmd
}

// startPollAgent starts the reconciler binary (built once into work) as
// `run` on url with a schedule that never fires during the rows, and
// waits for its first contact (the deploy).
func startPollAgent(work, url, dir string) (*pollAgent, error) {
	self, err := reconcilerBinary(work)
	if err != nil {
		return nil, err
	}
	listen, err := testkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	a := &pollAgent{dir: dir, listen: listen, logFile: dir + ".log"}
	a.cmd = exec.Command(self, "run", "--repo", url, "--path", "web/current.conf", "--dir", dir, "--restart", "none",
		"--schedule", "@every 1h", "--listen", listen, "--log-format", "json")
	logf, err := os.Create(a.logFile)
	if err != nil {
		return nil, err
	}
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for a.lastPoll().IsZero() || a.metric("reconciler_reconcile_duration_seconds_count") < 1 {
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("the agent did not make its first contact within a minute (see %s)", a.logFile)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a, nil
}

// pollOnce asks for a poll and waits for it to end, watching the state
// file (which costs the agent nothing) rather than its endpoints.
func (a *pollAgent) pollOnce() error {
	last := a.lastPoll()
	resp, err := http.Post("http://"+a.listen+"/reconcile", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	for deadline := time.Now().Add(30 * time.Second); a.lastPoll().Equal(last); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("a triggered poll did not end within 30s (see %s)", a.logFile)
		}
	}
	return nil
}

// lastPoll is the time of the agent's last pass, from its state file.
func (a *pollAgent) lastPoll() time.Time {
	var st struct {
		LastPoll struct {
			Time time.Time `json:"time"`
		} `json:"last_poll"`
	}
	data, err := os.ReadFile(filepath.Join(a.dir, ".reconciler", "state.json"))
	if err == nil {
		json.Unmarshal(data, &st)
	}
	return st.LastPoll.Time
}

func (a *pollAgent) metric(sample string) float64 { return scrape(a.listen, sample) }

func (a *pollAgent) stop() {
	a.cmd.Process.Kill()
	a.cmd.Wait()
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
