package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// agentRows measures the real agent process: commit-to-serving latency with
// `@every 1s` polling and with a POST /reconcile trigger, and its footprint
// (peak RSS, CPU per no-change poll) after many polls.
func agentRows(t *table, work string, o options) error {
	b, err := newAgentBench(work, 2*o.bumps+1)
	if err != nil {
		return err
	}
	defer b.stop()
	if err := b.waitServing(1, time.Minute); err != nil {
		return err
	}
	var sched, hook []float64
	v := 1
	for i := 0; i < o.bumps; i++ {
		v++
		d, err := b.bump(v, false)
		if err != nil {
			return err
		}
		sched = append(sched, ms(d))
	}
	for i := 0; i < o.bumps; i++ {
		v++
		d, err := b.bump(v, true)
		if err != nil {
			return err
		}
		hook = append(hook, ms(d))
	}
	s, h := summarize(sched), summarize(hook)
	o.plots.bumpSched, o.plots.bumpHook = sched, hook
	t.add(fmt.Sprintf("commit to serving, @every 1s (%d bumps)", o.bumps), s.String("ms"), "2500 ms", "target: one period + 1.5 s", s.med/2500)
	t.add(fmt.Sprintf("commit to serving, POST /reconcile (%d bumps)", o.bumps), h.String("ms"), "2500 ms", "target: one period + 1.5 s", h.med/2500)

	// Footprint: let it poll with nothing to do.
	time.Sleep(2 * time.Second) // the last switch's old process drains
	cpu0, polls0 := procCPU(b.cmd.Process.Pid), b.metric(`reconciler_polls_total{result="unchanged"}`)
	time.Sleep(time.Duration(o.agentPolls) * time.Second)
	cpu1, polls1 := procCPU(b.cmd.Process.Pid), b.metric(`reconciler_polls_total{result="unchanged"}`)
	polls := polls1 - polls0
	if polls <= 0 {
		return fmt.Errorf("agent made no no-change polls in %d s", o.agentPolls)
	}
	perPoll := ms(cpu1-cpu0) / polls
	lsCPU, err := cpuOf(10, "git", "ls-remote", b.repoURL, "refs/heads/main")
	if err != nil {
		return err
	}
	t.add(fmt.Sprintf("agent CPU per no-change poll (after %.0f polls)", polls1), fmt.Sprintf("%.2f ms", perPoll),
		fmt.Sprintf("%.2f ms", lsCPU), "git ls-remote (client CPU)", perPoll/lsCPU)
	t.add("agent CPU per hour idle on @every 30s (120 polls)", fmt.Sprintf("%.2f s", perPoll*120/1000),
		fmt.Sprintf("%.2f s", lsCPU*120/1000), "git ls-remote every 30s", perPoll/lsCPU)
	hwm := vmHWM(b.cmd.Process.Pid)
	t.add(fmt.Sprintf("agent peak RSS (after %.0f polls, %d switches)", polls1, 2*o.bumps), fmt.Sprintf("%.1f MiB", hwm), "30 MiB", "target", hwm/30)
	return b.watchRow(t, v, o.bumps)
}

// watchRow: the seed design's path, a person writing release/current.conf
// with `reconciler watch` running: time from the write to the new version
// answering. The agent is stopped first; its last two releases are kept.
func (b *agentBench) watchRow(t *table, last, n int) error {
	b.cmd.Process.Kill()
	b.cmd.Wait()
	watch := exec.Command(filepath.Join(b.work, "reconciler"), "watch", "--dir", b.dir,
		"--health-url", "http://"+b.addr+"/healthz", "--log-format", "json")
	logf, _ := os.Create(filepath.Join(b.work, "watch.log"))
	watch.Stdout, watch.Stderr = logf, logf
	if err := watch.Start(); err != nil {
		return err
	}
	b.cmd = watch
	var lat []float64
	for i := 0; i < n; i++ {
		v := last - 1 + i%2 // alternate between the last two releases
		time.Sleep(1500 * time.Millisecond)
		conf := fmt.Sprintf(`{"bin.file":%q,"cfg.file":%q,"version":"%d"}`,
			filepath.Join(b.dir, "release", appdir.BinName(strconv.Itoa(v))), filepath.Join(b.dir, "release", appdir.CfgName(strconv.Itoa(v))), v)
		tmp := filepath.Join(b.dir, "release", "current.conf.edit")
		start := time.Now()
		os.WriteFile(tmp, []byte(conf), 0o644)
		os.Rename(tmp, filepath.Join(b.dir, "release", "current.conf"))
		if err := b.waitServing(v, 30*time.Second); err != nil {
			return err
		}
		lat = append(lat, ms(time.Since(start)))
	}
	w := summarize(lat)
	t.add(fmt.Sprintf("watch: current.conf written to new version answering (%d edits)", n), w.String("ms"), "–", "(debounce 100 ms + SIGHUP handover)", 0)
	return nil
}

type agentBench struct {
	work, dir, repo, repoURL, addr, listen string
	logFile                                string
	apps                                   map[int]string
	art                                    *http.Server
	artURL                                 string
	cmd                                    *exec.Cmd
	cfgExtra                               map[int]map[string]any // more config keys per version
}

func newAgentBench(work string, versions int) (*agentBench, error) {
	apps, err := appBuilds(filepath.Join(work, "agent-builds"), versions)
	if err != nil {
		return nil, err
	}
	self, err := reconcilerBinary(work)
	if err != nil {
		return nil, err
	}
	return startAgentBench(work, "agent", self, apps)
}

// reconcilerBinary builds the reconciler command into work, once per run.
func reconcilerBinary(work string) (string, error) {
	self := filepath.Join(work, "reconciler")
	if _, err := os.Stat(self); err == nil {
		return self, nil
	}
	return self, buildBinary(self, "./cmd/reconciler", "")
}

// startAgentBench starts the agent binary self as `run` on a new deploy
// repo and app directory named for name (name-repo, name-app, name.log in
// work), serving the builds apps (all in one directory) from an artifact
// server of its own, with the extra flags.
func startAgentBench(work, name, self string, apps map[int]string, extra ...string) (*agentBench, error) {
	b := &agentBench{work: work, dir: filepath.Join(work, name+"-app"), repo: filepath.Join(work, name+"-repo"),
		logFile: filepath.Join(work, name+".log"), apps: apps}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.art = &http.Server{Handler: http.FileServer(http.Dir(filepath.Dir(apps[1])))}
	go b.art.Serve(ln)
	b.artURL = "http://" + ln.Addr().String()
	if b.addr, err = testkit.FreeAddr(); err != nil {
		return nil, err
	}
	if b.listen, err = testkit.FreeAddr(); err != nil {
		return nil, err
	}
	if err := b.initRepo(); err != nil {
		return nil, err
	}
	b.repoURL = "file://" + b.repo
	b.cmd = exec.Command(self, append([]string{"run", "--repo", b.repoURL, "--path", "web/current.conf", "--dir", b.dir,
		"--schedule", "@every 1s", "--listen", b.listen, "--health-url", "http://" + b.addr + "/healthz",
		"--log-format", "json", "--keep", "3"}, extra...)...)
	logf, _ := os.Create(b.logFile)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	return b, b.cmd.Start()
}

func (b *agentBench) initRepo() error {
	if err := runCmd("", "git", "init", "-q", "-b", "main", b.repo); err != nil {
		return err
	}
	return b.commitVersion(1)
}

func (b *agentBench) commitVersion(v int) error {
	sum, err := fileSHA(b.apps[v])
	if err != nil {
		return err
	}
	keys := map[string]any{"listen": b.addr, "message": "bench"}
	for k, v := range b.cfgExtra[v] {
		keys[k] = v
	}
	cfg, _ := json.Marshal(keys)
	os.MkdirAll(filepath.Join(b.repo, "web"), 0o755)
	os.WriteFile(filepath.Join(b.repo, "web", fmt.Sprintf("cfg-%d.json", v)), cfg, 0o644)
	desired := fmt.Sprintf(`{"version":"%d","bin":{"url":"%s/app-%d","sha256":"%s"},"cfg":{"path":"web/cfg-%d.json"}}`, v, b.artURL, v, sum, v)
	os.WriteFile(filepath.Join(b.repo, "web", "current.conf"), []byte(desired), 0o644)
	if err := runCmd(b.repo, "git", "add", "-A"); err != nil {
		return err
	}
	return runCmd(b.repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
		"commit", "-q", "-m", fmt.Sprintf("web %d", v))
}

// bump commits version v and returns the time until the app serves it.
func (b *agentBench) bump(v int, trigger bool) (time.Duration, error) {
	time.Sleep(1500 * time.Millisecond) // the previous handover drains; start at a random phase of the schedule
	start := time.Now()
	if err := b.commitVersion(v); err != nil {
		return 0, err
	}
	if trigger {
		resp, err := http.Post("http://"+b.listen+"/reconcile", "application/json", bytes.NewReader([]byte("{}")))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
	}
	if err := b.waitServing(v, time.Minute); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func (b *agentBench) waitServing(v int, limit time.Duration) error {
	want := fmt.Sprintf("exampleapp %d:", v)
	deadline := time.Now().Add(limit)
	client := http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + b.addr + "/"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.HasPrefix(string(body), want) {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("version %d not served within %s (see %s)", v, limit, b.logFile)
}

func (b *agentBench) metric(sample string) float64 { return scrape(b.listen, sample) }

// scrape reads one sample of an agent's /metrics; -1 when absent.
func scrape(listen, sample string) float64 {
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func (b *agentBench) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
	}
	killDir(b.dir)
	if b.art != nil {
		b.art.Shutdown(context.Background())
	}
}

// procCPU is a process's user+system CPU time, from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// vmHWM is a process's peak RSS in MiB.
func vmHWM(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

// cpuOf runs a command n times and returns its mean CPU in ms.
func cpuOf(n int, name string, args ...string) (float64, error) {
	var total time.Duration
	for i := 0; i < n; i++ {
		s, err := runProc("", name, args...)
		if err != nil {
			return 0, err
		}
		total += s.cpu
	}
	return ms(total) / float64(n), nil
}
