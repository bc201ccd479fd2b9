package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/svctest"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// selfUpdateRows (issue 26) measure the agent updating itself: an agent
// built from this tree stamped 1, run as systemd runs a Type=notify unit
// (internal/svctest), with the example app under load, follows its agent
// file through n handovers 1 -> 2 -> 1 ... (each version downloaded once,
// then found on disk): the time from the commit to the new agent reporting
// its version on /metrics (with @every 1s, and with POST /reconcile on an
// agent polling hourly; and a `run --apps-dir` agent whose one app is the
// same, with @every 1s), the app requests that failed, and the longest
// time /metrics did not answer (a probe every 5 ms).
func selfUpdateRows(ctx context.Context, t *table, work string, o options) error {
	dir := filepath.Join(work, "selfupdate")
	bins := map[string]string{}
	for _, v := range []string{"1", "2"} {
		bins[v] = filepath.Join(dir, "reconciler-"+v)
		if err := buildBinary(bins[v], "./cmd/reconciler", "-X main.version="+v); err != nil {
			return err
		}
	}
	apps, err := appBuilds(filepath.Join(dir, "apps"), 1)
	if err != nil {
		return err
	}
	for _, mode := range []selfUpdateMode{{"@every 1s", "every1s", "@every 1s", false, false},
		{"POST /reconcile", "post", "@every 1h", true, false}, {"@every 1s, run --apps-dir", "apps", "@every 1s", false, true}} {
		r, err := runSelfUpdates(ctx, filepath.Join(dir, mode.dir), bins, apps[1], mode, o.selfUpdates)
		if err != nil {
			return fmt.Errorf("%s: %w", mode.name, err)
		}
		s := summarize(r.took)
		t.add(fmt.Sprintf("agent update: commit to new agent confirmed, %s (%d handovers)", mode.name, o.selfUpdates), s.String("ms"),
			map[bool]string{false: "2500 ms", true: "1500 ms"}[mode.trigger], "target: one poll + the handover", s.med/map[bool]float64{false: 2500, true: 1500}[mode.trigger])
		t.add(fmt.Sprintf("agent update: app requests failed during %d handovers (%s)", o.selfUpdates, mode.name),
			fmt.Sprintf("%d of %d", r.load.Failed, r.load.OK+r.load.Failed), "0", "goal", 0)
		g := summarize(r.gaps)
		t.add(fmt.Sprintf("agent update: longest gap in /metrics answers per handover (%s)", mode.name), g.String("ms"),
			fmt.Sprintf("%d failed", r.probeFailed), "/metrics probes failed", 0)
	}
	return nil
}

// selfUpdateMode is how the agent of a selfupdate row runs: its
// schedule, whether each commit is followed by POST /reconcile, and
// whether it is a `run --apps-dir` agent (its app in an app file).
type selfUpdateMode struct {
	name, dir, schedule string
	trigger, apps       bool
}

type selfUpdateResult struct {
	took, gaps  []float64
	load        loadgen.Result
	probeFailed int
}

// runSelfUpdates runs one agent through n handovers and measures them.
func runSelfUpdates(ctx context.Context, dir string, bins map[string]string, app string, mode selfUpdateMode, n int) (selfUpdateResult, error) {
	var r selfUpdateResult
	files, sums := map[string][]byte{}, map[string]string{}
	for v, p := range map[string]string{"1": bins["1"], "2": bins["2"], "app": app} {
		b, err := os.ReadFile(p)
		if err != nil {
			return r, err
		}
		files["/"+v] = b
		sum := sha256.Sum256(b)
		sums[v] = hex.EncodeToString(sum[:])
	}
	art := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { w.Write(files[req.URL.Path]) }))
	defer art.Close()
	repo, appDir := filepath.Join(dir, "repo"), filepath.Join(dir, "app")
	addr, err := testkit.FreeAddr()
	if err != nil {
		return r, err
	}
	listen, err := testkit.FreeAddr()
	if err != nil {
		return r, err
	}
	if err := runCmd("", "git", "init", "-q", "-b", "main", repo); err != nil {
		return r, err
	}
	commit := func(path, content string) error {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, path)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(repo, path), []byte(content), 0o644); err != nil {
			return err
		}
		if err := runCmd(repo, "git", "add", "-A"); err != nil {
			return err
		}
		return runCmd(repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false", "commit", "-q", "-m", path)
	}
	agentFile := func(v string) string {
		return fmt.Sprintf(`{"version":%q,"bin":{"url":"%s/%s","sha256":%q}}`, v, art.URL, v, sums[v])
	}
	if err := commit("web/cfg.json", fmt.Sprintf(`{"listen":%q,"message":"bench"}`, addr)); err != nil {
		return r, err
	}
	if err := commit("web/current.conf", fmt.Sprintf(`{"version":"1","bin":{"url":"%s/app","sha256":%q},"cfg":{"path":"web/cfg.json"}}`, art.URL, sums["app"])); err != nil {
		return r, err
	}
	if err := commit("agent.conf", agentFile("1")); err != nil {
		return r, err
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	sockDir, err := os.MkdirTemp("", "rsu")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(sockDir)
	args := []string{"run", "--repo", "file://" + repo, "--path", "web/current.conf", "--dir", appDir, "--health-url", "http://" + addr + "/healthz"}
	if mode.apps {
		appsDir := filepath.Join(dir, "apps.d")
		env := fmt.Sprintf("RECONCILER_REPO=file://%s\nRECONCILER_PATH=web/current.conf\nRECONCILER_DIR=%s\nRECONCILER_HEALTH_URL=http://%s/healthz\n", repo, appDir, addr)
		if err := os.MkdirAll(appsDir, 0o755); err != nil {
			return r, err
		}
		if err := os.WriteFile(filepath.Join(appsDir, "web.env"), []byte(env), 0o644); err != nil {
			return r, err
		}
		args = []string{"run", "--apps-dir", appsDir, "--cache-dir", filepath.Join(dir, "cache"), "--agent-repo", "file://" + repo}
	}
	args = append(args, "--schedule", mode.schedule, "--listen", listen, "--agent-path", "agent.conf",
		"--agent-dir", filepath.Join(dir, "agent"), "--log-format", "json")
	svc, err := svctest.Start(svctest.Options{Path: bins["1"], Dir: dir, Stdout: logf, Stderr: logf, SocketDir: sockDir, Env: benchEnv(), Args: args})
	if err != nil {
		return r, err
	}
	defer func() { svc.Stop(10 * time.Second); killDir(appDir) }()
	if err := waitAgentVersion(listen, "1", time.Minute); err != nil {
		return r, err
	}
	for deadline := time.Now().Add(time.Minute); !strings.HasPrefix(testkit.Answer(addr), "exampleapp 1:"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("the app does not answer (see %s)", logf.Name())
		}
	}
	load := loadgen.Start(ctx, loadgen.Options{URL: "http://" + addr + "/", Workers: 3})
	v := "1"
	for i := 0; i < n; i++ {
		v = map[string]string{"1": "2", "2": "1"}[v]
		time.Sleep(1500 * time.Millisecond) // the old agent gone; a random phase of the schedule
		probe := svctest.StartProbe("http://"+listen+"/metrics", 5*time.Millisecond)
		start := time.Now()
		if err := commit("agent.conf", agentFile(v)); err != nil {
			return r, err
		}
		if mode.trigger {
			resp, err := http.Post("http://"+listen+"/reconcile", "application/json", bytes.NewReader([]byte("{}")))
			if err != nil {
				return r, err
			}
			resp.Body.Close()
		}
		if err := waitAgentVersion(listen, v, time.Minute); err != nil {
			return r, fmt.Errorf("%w (see %s)", err, logf.Name())
		}
		r.took = append(r.took, ms(time.Since(start)))
		time.Sleep(500 * time.Millisecond) // the probe sees the new agent settle
		p := probe.Stop()
		r.gaps, r.probeFailed = append(r.gaps, ms(p.MaxGap)), r.probeFailed+p.Failed
		if p.Failed > 0 {
			fmt.Fprintf(os.Stderr, "bench: selfupdate: %d /metrics probes failed in handover %d: %v\n", p.Failed, i+1, p.FirstErr)
		}
	}
	r.load = load.Stop()
	if svc.Starts() != 1 {
		return r, fmt.Errorf("the supervisor started the agent %d times, want once (every update a handover)", svc.Starts())
	}
	return r, nil
}

// waitAgentVersion waits until the agent at listen reports version v.
func waitAgentVersion(listen, v string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + listen + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if regexp.MustCompile(`(?m)^reconciler_agent_info\{[^}]*version="` + regexp.QuoteMeta(v) + `"[^}]*\} 1$`).Match(b) {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("agent %s not reporting within %s", v, limit)
}

// benchEnv is the environment without RECONCILER_* settings.
func benchEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RECONCILER_") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			env = append(env, kv)
		}
	}
	return env
}
