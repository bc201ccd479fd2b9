package main

import (
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
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// appsRows: N example apps whose desired files are in one deploy repo,
// served over smart HTTP, run by one `reconciler run --apps-dir` and then
// by N `reconciler run --dir` agents, side by side: what an idle poll tick
// costs the git host (requests), the agents' peak RSS (their deploy
// included) and their CPU while idle, each on fresh app directories.
func appsRows(ctx context.Context, t *table, work string, o options) error {
	b, err := newAppsBench(work, o.apps)
	if err != nil {
		return err
	}
	defer b.close()
	one, err := b.measure(ctx, true, o.appsIdle)
	if err != nil {
		return fmt.Errorf("one agent: %w", err)
	}
	many, err := b.measure(ctx, false, o.appsIdle)
	if err != nil {
		return fmt.Errorf("%d agents: %w", o.apps, err)
	}
	n := o.apps
	alt := fmt.Sprintf("%d agents (run --dir), summed", n)
	what := fmt.Sprintf("%d apps on one deploy repo, one agent (run --apps-dir)", n)
	t.add(fmt.Sprintf("%s: git requests per poll tick, idle (%.0f ticks of @every 1s)", what, one.ticks),
		fmt.Sprintf("%.2f", one.requests), fmt.Sprintf("%.2f", many.requests), alt, one.requests/many.requests)
	t.add(what+": peak RSS (deploy of every app, then idle)", fmt.Sprintf("%.1f MiB", one.rss), fmt.Sprintf("%.1f MiB", many.rss), alt, one.rss/many.rss)
	t.add(fmt.Sprintf("%s: CPU per hour idle on @every 30s (120 ticks; from %s idle at @every 1s)", what, o.appsIdle),
		fmt.Sprintf("%.2f s", one.cpuPerTick*120/1000), fmt.Sprintf("%.2f s", many.cpuPerTick*120/1000), alt, one.cpuPerTick/many.cpuPerTick)
	return nil
}

type appsBench struct {
	work, repo, repoURL, artURL string
	app                         string // the example app binary
	self                        string // reconciler
	addrs                       []string
	git                         *gittest.HTTPServer
	art                         *http.Server
}

func newAppsBench(work string, n int) (*appsBench, error) {
	b := &appsBench{work: filepath.Join(work, "apps"), self: filepath.Join(work, "reconciler-apps")}
	builds := filepath.Join(b.work, "builds")
	if err := os.MkdirAll(builds, 0o755); err != nil {
		return nil, err
	}
	apps, err := appBuilds(builds, 1)
	if err != nil {
		return nil, err
	}
	b.app = apps[1]
	if err := buildBinary(b.self, "./cmd/reconciler", ""); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.art = &http.Server{Handler: http.FileServer(http.Dir(builds))}
	go b.art.Serve(ln)
	b.artURL = "http://" + ln.Addr().String()
	for range n {
		addr, err := testkit.FreeAddr()
		if err != nil {
			return nil, err
		}
		b.addrs = append(b.addrs, addr)
	}
	if err := b.initRepo(); err != nil {
		return nil, err
	}
	if b.git, err = startGitServer(filepath.Join(b.work, "git")); err != nil {
		return nil, err
	}
	b.repoURL = b.git.URL + "/deploy"
	return b, nil
}

// initRepo commits app01/current.conf … appNN/current.conf, each the
// example app on its own port.
func (b *appsBench) initRepo() error {
	b.repo = filepath.Join(b.work, "git", "deploy")
	if err := runCmd("", "git", "init", "-q", "-b", "main", b.repo); err != nil {
		return err
	}
	sum, err := fileSHA(b.app)
	if err != nil {
		return err
	}
	for i, addr := range b.addrs {
		name := appName(i)
		os.MkdirAll(filepath.Join(b.repo, name), 0o755)
		cfg, _ := json.Marshal(map[string]string{"listen": addr, "message": name})
		os.WriteFile(filepath.Join(b.repo, name, "cfg.json"), cfg, 0o644)
		desired := fmt.Sprintf(`{"version":"1","bin":{"url":"%s/app-1","sha256":"%s"},"cfg":{"path":"%s/cfg.json"}}`, b.artURL, sum, name)
		os.WriteFile(filepath.Join(b.repo, name, "current.conf"), []byte(desired), 0o644)
	}
	if err := runCmd(b.repo, "git", "add", "-A"); err != nil {
		return err
	}
	return runCmd(b.repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
		"commit", "-q", "-m", "apps")
}

func appName(i int) string { return fmt.Sprintf("app%02d", i+1) }

// appsResult is one side of the comparison.
type appsResult struct {
	ticks      float64 // poll ticks in the idle window (polls per app)
	requests   float64 // git requests per tick, all apps together
	cpuPerTick float64 // ms of CPU per tick, all agents together
	rss        float64 // MiB, the agents' peak RSS summed
}

// agentProcs are the agents of one side, each with its /metrics address.
type agentProcs struct {
	cmds    []*exec.Cmd
	listens []string
}

// measure starts the agents on fresh app directories, waits until every
// app serves, lets them poll idle for idle, and reads the counters.
func (b *appsBench) measure(ctx context.Context, one bool, idle time.Duration) (appsResult, error) {
	side := "many"
	if one {
		side = "one"
	}
	root := filepath.Join(b.work, side)
	dirs := make([]string, len(b.addrs))
	for i := range dirs {
		dirs[i] = filepath.Join(root, appName(i))
	}
	defer func() {
		for _, d := range dirs {
			killDir(d)
		}
	}()
	procs, err := b.start(root, dirs, one)
	defer procs.stop()
	if err != nil {
		return appsResult{}, err
	}
	for i, addr := range b.addrs {
		if err := waitAnswer(ctx, addr, "exampleapp 1:", 3*time.Minute); err != nil {
			return appsResult{}, fmt.Errorf("%s: %w (logs in %s)", appName(i), err, root)
		}
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil { // the last deploys' passes end
		return appsResult{}, err
	}
	cpu0, polls0, req0 := procs.cpu(), procs.polls(), b.requests()
	if err := sleepCtx(ctx, idle); err != nil {
		return appsResult{}, err
	}
	cpu1, polls1, req1 := procs.cpu(), procs.polls(), b.requests()
	ticks := (polls1 - polls0) / float64(len(b.addrs))
	if ticks <= 0 {
		return appsResult{}, fmt.Errorf("no polls in %s (logs in %s)", idle, root)
	}
	return appsResult{ticks: ticks, requests: float64(req1-req0) / ticks, cpuPerTick: ms(cpu1-cpu0) / ticks, rss: procs.rss()}, nil
}

// start starts one agent for every app (one), or one per app.
func (b *appsBench) start(root string, dirs []string, one bool) (*agentProcs, error) {
	p := &agentProcs{}
	common := []string{"--schedule", "@every 1s", "--log-format", "json", "--health-timeout", "30s"}
	if one {
		appsDir := filepath.Join(root, "apps.d")
		if err := os.MkdirAll(appsDir, 0o755); err != nil {
			return p, err
		}
		for i, d := range dirs {
			env := fmt.Sprintf("RECONCILER_REPO=%s\nRECONCILER_PATH=%s/current.conf\nRECONCILER_DIR=%s\nRECONCILER_HEALTH_URL=http://%s/healthz\n",
				b.repoURL, appName(i), d, b.addrs[i])
			if err := os.WriteFile(filepath.Join(appsDir, appName(i)+".env"), []byte(env), 0o644); err != nil {
				return p, err
			}
		}
		return p, p.start(b.self, filepath.Join(root, "agent.log"), append(common, "--apps-dir", appsDir, "--cache-dir", filepath.Join(root, "cache"))...)
	}
	for i, d := range dirs {
		err := p.start(b.self, filepath.Join(root, appName(i)+".log"), append(common, "--repo", b.repoURL,
			"--path", appName(i)+"/current.conf", "--dir", d, "--health-url", "http://"+b.addrs[i]+"/healthz")...)
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

func (p *agentProcs) start(self, logFile string, args ...string) error {
	listen, err := testkit.FreeAddr()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		return err
	}
	logf, err := os.Create(logFile)
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{"run", "--listen", listen}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close() // the child has its own descriptor
	p.cmds, p.listens = append(p.cmds, cmd), append(p.listens, listen)
	return nil
}

func (p *agentProcs) stop() {
	for _, c := range p.cmds {
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
	}
}

func (p *agentProcs) cpu() time.Duration {
	var total time.Duration
	for _, c := range p.cmds {
		total += procCPU(c.Process.Pid)
	}
	return total
}

func (p *agentProcs) rss() float64 {
	total := 0.0
	for _, c := range p.cmds {
		total += vmHWM(c.Process.Pid)
	}
	return total
}

var pollsRE = regexp.MustCompile(`(?m)^reconciler_polls_total\{[^}]*\} (\S+)$`)

// polls is every app's reconciler_polls_total, summed.
func (p *agentProcs) polls() float64 {
	total := 0.0
	for _, l := range p.listens {
		resp, err := http.Get("http://" + l + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, m := range pollsRE.FindAllSubmatch(body, -1) {
			v, _ := strconv.ParseFloat(string(m[1]), 64)
			total += v
		}
	}
	return total
}

// requests is every request the git server answered so far.
func (b *appsBench) requests() int64 {
	return b.git.Stats().Requests
}

// waitAnswer waits until the app at addr answers with prefix.
func waitAnswer(ctx context.Context, addr, prefix string, limit time.Duration) error {
	client := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(body) >= len(prefix) && string(body[:len(prefix)]) == prefix {
				return nil
			}
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("no %q from %s within %s", prefix, addr, limit)
}

func (b *appsBench) close() {
	if b.git != nil {
		b.git.Close()
	}
	if b.art != nil {
		b.art.Shutdown(context.Background())
	}
}
