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

	"github.com/reconciler-dev/reconciler/internal/testkit"
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
	return startAgentCmd(t, exec.Command(os.Args[0], append([]string{"run"}, args...)...))
}

// startAgentCmd starts cmd, a `reconciler run` of this test binary, as an
// agent that is killed when the test ends (its logs shown if it failed).
func startAgentCmd(t *testing.T, cmd *exec.Cmd) *agentProc {
	t.Helper()
	a := &agentProc{logs: &syncBuffer{}, cmd: cmd}
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

// agentFixture is a real agent process on a deploy repo whose version 1
// (the example app) it has deployed: the start of every agent test.
type agentFixture struct {
	*agentProc
	d         *deployRepo
	dir, addr string
}

// startAgentOn1 starts a real agent with a 1 s schedule, a health check and
// extra flags, and waits until it serves release 1.
func startAgentOn1(t *testing.T, extra ...string) *agentFixture {
	t.Helper()
	f := &agentFixture{d: newDeployRepo(t), addr: freeAddr(t), dir: t.TempDir()}
	killApps(t, f.dir)
	f.d.releaseApp(t, "1", f.addr, nil)
	listen := freeAddr(t)
	args := append([]string{"--repo", f.d.URL(), "--path", "web/current.conf", "--dir", f.dir,
		"--schedule", "@every 1s", "--listen", listen,
		"--health-url", "http://" + f.addr + "/healthz", "--health-timeout", "10s", "--log-format", "json"}, extra...)
	f.agentProc = startAgent(t, args...)
	f.listen = listen
	waitFor(t, "the agent to deploy 1", f.answers("1"))
	return f
}

func (f *agentFixture) answers(v string) func() bool {
	return func() bool { return strings.HasPrefix(testkit.Answer(f.addr), "exampleapp "+v+":") }
}

func (f *agentFixture) status(t *testing.T) reconcile.Status {
	var st reconcile.Status
	json.Unmarshal([]byte(f.get(t, "/status")), &st)
	return st
}

// TestAgentWebhookAndRevert: the webhook needs its signature and polls at
// once; a bump deploys and git revert rolls back; a second agent on the
// directory is refused; SIGTERM stops the agent and leaves the app up.
func TestAgentWebhookAndRevert(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret := []byte("s3cr3t-hook")
	os.WriteFile(secretFile, secret, 0o600)
	a := startAgentOn1(t, "--webhook-secret-file", secretFile)

	second := exec.Command(os.Args[0], "run", "--repo", a.d.URL(), "--dir", a.dir)
	second.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "another reconciler") {
		t.Errorf("second agent: got %v %s, want a clear lock error", err, out)
	}

	body := []byte(`{"ref":"refs/heads/main"}`)
	if code := a.post(t, body, sign([]byte("wrong"), body)); code != http.StatusUnauthorized {
		t.Errorf("bad signature: got %d, want 401", code)
	}
	if code := a.post(t, body, ""); code != http.StatusUnauthorized {
		t.Errorf("no signature: got %d, want 401", code)
	}
	a.d.releaseApp(t, "2", a.addr, nil)
	if code := a.post(t, body, sign(secret, body)); code != http.StatusAccepted {
		t.Errorf("good signature: got %d, want 202", code)
	}
	waitFor(t, "the bump to 2", a.answers("2"))
	a.d.Git("revert", "--no-edit", "HEAD")
	waitFor(t, "git revert back to 1", a.answers("1"))
	waitFor(t, "the revert's pass to end", func() bool {
		st := a.status(t)
		return st.Applied != nil && st.Applied.Revision == a.d.Git("rev-parse", "HEAD")
	})
	for sample, want := range map[string]float64{
		`reconciler_switches_total`:                3,
		`reconciler_polls_total{result="applied"}`: 3,
		`reconciler_applied_info{revision="` + a.d.Git("rev-parse", "HEAD") + `",version="1"}`: 1,
	} {
		if v := a.metric(t, sample); v != want {
			t.Errorf("metric %s = %v, want %v", sample, v, want)
		}
	}
	fetches := a.metric(t, `reconciler_git_requests_total{kind="fetch"}`)
	waitFor(t, "idle polls that list refs and fetch nothing", func() bool {
		return a.metric(t, `reconciler_git_requests_total{kind="ref_listing"}`) >= fetches+2
	})
	if f := a.metric(t, `reconciler_git_requests_total{kind="fetch"}`); f != fetches {
		t.Errorf("git fetches went from %v to %v with nothing new in the repo, want no fetch", fetches, f)
	}

	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("agent took %s to stop", took)
	}
	if !a.answers("1")() {
		t.Errorf("after the agent stopped the app answers %q, want 1", testkit.Answer(a.addr))
	}
}

// TestAgentRecoversFromBadCommit: a broken desired file is reported (and
// counted as an error) while the app keeps running; the next good commit
// deploys by itself; old releases are pruned to --keep.
func TestAgentRecoversFromBadCommit(t *testing.T) {
	t.Parallel()
	a := startAgentOn1(t, "--keep", "2")
	a.d.releaseApp(t, "2", a.addr, nil)
	waitFor(t, "2", a.answers("2"))
	a.d.commitDesired(`{"version": "3", "bin": {`)
	waitFor(t, "the bad commit to be reported", func() bool {
		return strings.Contains(a.get(t, "/status"), "invalid JSON")
	})
	if !a.answers("2")() {
		t.Errorf("with a broken desired file the app answers %q, want 2", testkit.Answer(a.addr))
	}
	// The state file (which /status reads) is saved before the pass's
	// metrics are set: wait for the count rather than expect it at once.
	waitFor(t, "the failed poll to be counted", func() bool {
		return a.metric(t, `reconciler_polls_total{result="error"}`) >= 1
	})
	a.d.releaseApp(t, "3", a.addr, nil)
	waitFor(t, "recovery with 3", a.answers("3"))
	waitFor(t, "release 1 pruned (--keep 2: 3 runs, 2 is the previous)", func() bool {
		_, err := os.Stat(filepath.Join(a.dir, "release", "app.1"))
		return os.IsNotExist(err)
	})
	if v := a.metric(t, `reconciler_downloaded_bytes_total{result="ok"}`); v < 1<<20 {
		t.Errorf("downloaded bytes: %v, want the releases' binaries", v)
	}
}

// TestAgentPutsDriftBack: a link, a release file altered by hand are put
// back at the next poll, logged and counted.
func TestAgentPutsDriftBack(t *testing.T) {
	t.Parallel()
	a := startAgentOn1(t)
	a.d.releaseApp(t, "2", a.addr, nil)
	waitFor(t, "2", a.answers("2"))
	os.Remove(filepath.Join(a.dir, "app.cfg"))
	os.Symlink("release/cfg.1", filepath.Join(a.dir, "app.cfg"))
	os.WriteFile(filepath.Join(a.dir, "release", "cfg.2"), []byte(`{"listen":"x"}`), 0o640)
	waitFor(t, "drift to be put back", func() bool {
		l, _ := os.Readlink(filepath.Join(a.dir, "app.cfg"))
		data, _ := os.ReadFile(filepath.Join(a.dir, "release", "cfg.2"))
		return l == "release/cfg.2" && strings.Contains(string(data), a.addr)
	})
	if !strings.Contains(a.logs.String(), "drift") {
		t.Error("drift was corrected without a log line saying so")
	}
	waitFor(t, "the drift counter", func() bool { return a.metric(t, "reconciler_drift_corrected_total") >= 1 })
}

// TestAgentSuspended: a suspended agent keeps polling, applies nothing and
// says so; after resume the waiting commit deploys.
func TestAgentSuspended(t *testing.T) {
	t.Parallel()
	a := startAgentOn1(t)
	if _, errOut, code := runCLI(t, "suspend", "--dir", a.dir, "--reason", "incident 42"); code != 0 {
		t.Fatalf("suspend: %s", errOut)
	}
	a.d.releaseApp(t, "2", a.addr, nil)
	waitFor(t, "a suspended poll", func() bool {
		st := a.status(t)
		return st.LastPoll != nil && st.LastPoll.Result == reconcile.PollSuspended && st.Suspended != nil
	})
	if !a.answers("1")() {
		t.Errorf("suspended agent applied a change: the app answers %q", testkit.Answer(a.addr))
	}
	if v := a.metric(t, "reconciler_suspended"); v != 1 {
		t.Errorf("reconciler_suspended: got %v, want 1", v)
	}
	if st := a.status(t); st.LastError != nil {
		t.Errorf("a suspension shown as the last error: %+v", st.LastError)
	}
	runCLI(t, "resume", "--dir", a.dir)
	waitFor(t, "2 after resume", a.answers("2"))
	waitFor(t, "reconciler_suspended back to 0", func() bool { return a.metric(t, "reconciler_suspended") == 0 })
	if v := a.metric(t, `reconciler_last_success_timestamp_seconds`); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success %v, want within the minute", v)
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
