package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// agentProc is a real `reconciler run` child process.
type agentProc struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	listen string
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{logs: &syncBuffer{}}
	a.cmd = exec.Command(os.Args[0], append([]string{"run"}, args...)...)
	a.cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		a.cmd.Wait()
		if t.Failed() {
			t.Logf("agent logs:\n%s", a.logs.String())
		}
	})
	return a
}

func (a *agentProc) post(t *testing.T, body []byte, sig string) int {
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.listen+"/reconcile", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /reconcile: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (a *agentProc) get(t *testing.T, path string) string {
	resp, err := http.Get("http://" + a.listen + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of one sample of the /metrics page.
func (a *agentProc) metric(t *testing.T, sample string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindStringSubmatch(a.get(t, "/metrics"))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// TestRunAgent drives a real agent process through the product's story:
// deploy, a webhook-triggered bump, git revert, a bad commit then a good
// one, drift put back, suspend honoured, metrics, and SIGTERM leaving the
// app up.
func TestRunAgent(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	killApps(t, dir)
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret := []byte("s3cr3t-hook")
	os.WriteFile(secretFile, secret, 0o600)
	answers := func(v string) func() bool {
		return func() bool { return strings.HasPrefix(answer(addr), "exampleapp "+v+":") }
	}

	d.releaseApp(t, "1", addr, nil)
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--schedule", "@every 1s", "--listen", freeAddr(t), "--webhook-secret-file", secretFile,
		"--health-url", "http://"+addr+"/healthz", "--health-timeout", "10s", "--log-format", "json", "--keep", "3")
	a.listen = a.cmd.Args[indexOf(a.cmd.Args, "--listen")+1]
	waitFor(t, "the agent to deploy 1", answers("1"))

	// A second agent on the same dir exits at once with a clear error.
	second := exec.Command(os.Args[0], "run", "--repo", d.URL(), "--dir", dir)
	second.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "another reconciler") {
		t.Errorf("second agent: got %v %s, want a clear lock error", err, out)
	}

	// Webhooks: bad and missing signatures are refused; a good one polls.
	body := []byte(`{"ref":"refs/heads/main"}`)
	if code := a.post(t, body, sign([]byte("wrong"), body)); code != http.StatusUnauthorized {
		t.Errorf("bad signature: got %d, want 401", code)
	}
	if code := a.post(t, body, ""); code != http.StatusUnauthorized {
		t.Errorf("no signature: got %d, want 401", code)
	}
	d.releaseApp(t, "2", addr, nil)
	if code := a.post(t, body, sign(secret, body)); code != http.StatusAccepted {
		t.Errorf("good signature: got %d, want 202", code)
	}
	waitFor(t, "the bump to 2", answers("2"))

	d.Git("revert", "--no-edit", "HEAD")
	waitFor(t, "git revert back to 1", answers("1"))

	// A bad commit is reported and retried; a good one after it deploys.
	d.commitDesired(`{"version": "3", "bin": {`)
	waitFor(t, "the bad commit to be reported", func() bool {
		return strings.Contains(a.get(t, "/status"), "invalid JSON")
	})
	d.releaseApp(t, "3", addr, nil)
	waitFor(t, "recovery with 3", answers("3"))

	// Drift: a link and release/current.conf changed by hand, a release
	// file altered: all put back at the next poll.
	os.Remove(filepath.Join(dir, "app.cfg"))
	os.Symlink("release/cfg.1", filepath.Join(dir, "app.cfg"))
	os.WriteFile(filepath.Join(dir, "release", "cfg.3"), []byte(`{"listen":"x"}`), 0o640)
	waitFor(t, "drift to be put back", func() bool {
		l, _ := os.Readlink(filepath.Join(dir, "app.cfg"))
		data, _ := os.ReadFile(filepath.Join(dir, "release", "cfg.3"))
		return l == "release/cfg.3" && strings.Contains(string(data), addr)
	})
	if !strings.Contains(a.logs.String(), "drift") {
		t.Error("drift was corrected without a log line saying so")
	}

	// Suspend: the agent keeps polling and reports, but applies nothing.
	if _, errOut, code := runCLI(t, "suspend", "--dir", dir, "--reason", "incident 42"); code != 0 {
		t.Fatalf("suspend: %s", errOut)
	}
	d.releaseApp(t, "4", addr, nil)
	waitFor(t, "a suspended poll", func() bool {
		var st reconcile.Status
		json.Unmarshal([]byte(a.get(t, "/status")), &st)
		return st.LastPoll != nil && st.LastPoll.Result == reconcile.PollSuspended && st.Suspended != nil
	})
	if !answers("3")() {
		t.Errorf("suspended agent applied a change: the app answers %q", answer(addr))
	}
	if v := a.metric(t, "reconciler_suspended"); v != 1 {
		t.Errorf("reconciler_suspended: got %v, want 1", v)
	}
	runCLI(t, "resume", "--dir", dir)
	waitFor(t, "4 after resume", answers("4"))
	waitFor(t, "the pass applying 4 to end", func() bool {
		var st reconcile.Status
		json.Unmarshal([]byte(a.get(t, "/status")), &st)
		return st.Applied != nil && st.Applied.Version == "4" && st.LastPoll.Result == reconcile.PollApplied
	})

	// Metrics moved the way the story says.
	checks := map[string]func(float64) bool{
		`reconciler_switches_total`:                                                          func(v float64) bool { return v >= 4 },
		`reconciler_polls_total{result="applied"}`:                                           func(v float64) bool { return v >= 5 },
		`reconciler_polls_total{result="error"}`:                                             func(v float64) bool { return v >= 1 },
		`reconciler_drift_corrected_total`:                                                   func(v float64) bool { return v >= 1 },
		`reconciler_downloaded_bytes_total`:                                                  func(v float64) bool { return v > 1<<20 },
		`reconciler_git_requests_total{kind="fetch"}`:                                        func(v float64) bool { return v >= 5 },
		`reconciler_suspended`:                                                               func(v float64) bool { return v == 0 },
		`reconciler_last_success_timestamp_seconds`:                                          func(v float64) bool { return v > float64(time.Now().Add(-time.Minute).Unix()) },
		`reconciler_applied_info{revision="` + d.Git("rev-parse", "HEAD") + `",version="4"}`: func(v float64) bool { return v == 1 },
	}
	for sample, ok := range checks {
		if v := a.metric(t, sample); !ok(v) {
			t.Errorf("metric %s = %v: not what the story implies", sample, v)
		}
	}
	if l, f := a.metric(t, `reconciler_git_requests_total{kind="ref_listing"}`), a.metric(t, `reconciler_git_requests_total{kind="fetch"}`); l <= f {
		t.Errorf("git requests: %v ref listings, %v fetches; want more listings (a poll that finds nothing fetches nothing)", l, f)
	}
	// Pruned to --keep 3: 1 and 2 are gone (4 runs, 3 was the previous).
	if _, err := os.Stat(filepath.Join(dir, "release", "app.1")); !os.IsNotExist(err) {
		t.Errorf("release/app.1 not pruned with --keep 3 (%v)", err)
	}

	// SIGTERM stops the agent promptly; the app keeps serving.
	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("agent took %s to stop", took)
	}
	if !answers("4")() {
		t.Errorf("after the agent stopped the app answers %q, want 4", answer(addr))
	}
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
