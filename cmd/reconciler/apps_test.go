package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// appsFixture is a real `reconciler run --apps-dir` process with three
// example apps: web and api follow one deploy repo served over smart HTTP
// (x), db another (y).
type appsFixture struct {
	*agentProc
	appsDir string
	x, y    *deployRepo
	xsrv    *gittest.HTTPServer
	apps    map[string]*fixtureApp
}

type fixtureApp struct {
	name, dir, addr string
	d               *deployRepo
	repoURL         string
}

// startApps starts the agent with the apps' files in its apps dir, each
// with extra settings, and waits until every app serves release 1.
func startApps(t *testing.T, extra map[string]string) *appsFixture {
	t.Helper()
	f := &appsFixture{appsDir: t.TempDir(), x: newDeployRepo(t), y: newDeployRepo(t), apps: map[string]*fixtureApp{}}
	f.xsrv = f.x.ServeHTTP(t)
	for _, app := range []*fixtureApp{{name: "web", d: f.x, repoURL: f.xsrv.URL}, {name: "api", d: f.x, repoURL: f.xsrv.URL},
		{name: "db", d: f.y, repoURL: f.y.URL()}} {
		app.dir, app.addr = t.TempDir(), freeAddr(t)
		killApps(t, app.dir)
		f.apps[app.name] = app
		f.release(t, app.name, "1", nil)
	}
	listen := freeAddr(t)
	f.agentProc = startAgent(t, "--apps-dir", f.appsDir, "--cache-dir", t.TempDir(), "--schedule", "@every 1s",
		"--listen", listen, "--health-timeout", "10s", "--log-format", "json")
	f.listen = listen
	for name := range f.apps {
		f.writeEnv(t, name, extra[name])
	}
	for name := range f.apps {
		waitFor(t, name+" to deploy 1", f.answers(name, "1"))
	}
	return f
}

// writeEnv writes the app's file as an operator would: a new file renamed
// into place.
func (f *appsFixture) writeEnv(t *testing.T, name, extra string) {
	t.Helper()
	a := f.apps[name]
	env := fmt.Sprintf("# %s\nRECONCILER_REPO=%s\nRECONCILER_PATH=%s/current.conf\nRECONCILER_DIR=\"%s\"\nRECONCILER_HEALTH_URL=http://%s/healthz\n%s",
		name, a.repoURL, name, a.dir, a.addr, extra)
	writeFileAtomic(t, filepath.Join(f.appsDir, name+".env"), env)
}

func writeFileAtomic(t *testing.T, path, data string) {
	t.Helper()
	testkit.WriteFileAtomic(t, path, data)
}

// release publishes the example app as version v of app (its desired
// file and config under app/ in its repo) and commits it.
func (f *appsFixture) release(t *testing.T, app, v string, extra map[string]any) string {
	a := f.apps[app]
	url, digest := a.d.art.put("/app-"+v, exampleApp(t, strings.SplitN(v, "-", 2)[0]))
	cfg := map[string]any{"listen": a.addr, "message": app + " " + v}
	for k, val := range extra {
		cfg[k] = val
	}
	js, _ := json.Marshal(cfg)
	a.d.WriteFile(app+"/cfg-"+v+".json", js)
	a.d.WriteFile(app+"/current.conf", []byte(fmt.Sprintf(
		`{"version": %q, "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "%s/cfg-%s.json"}}`, v, url, digest, app, v)))
	return a.d.Commit(app + " " + v)
}

func (f *appsFixture) answers(app, v string) func() bool {
	return func() bool { return strings.HasPrefix(testkit.Answer(f.apps[app].addr), "exampleapp "+v+":") }
}

func (f *appsFixture) status(t *testing.T) map[string]agenthost.AppStatus {
	var st agenthost.AppsStatus
	if err := json.Unmarshal([]byte(f.get(t, "/status")), &st); err != nil {
		t.Fatalf("GET /status: %v", err)
	}
	m := map[string]agenthost.AppStatus{}
	for _, a := range st.Apps {
		m[a.Name] = a
	}
	return m
}

// sum adds the samples of a metric family whose labels hold every one of
// labels (e.g. `app="web"`).
func sum(metrics, family string, labels ...string) float64 {
	total := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+family+`\{([^}]*)\} (\S+)$`).FindAllStringSubmatch(metrics, -1) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(","+m[1]+",", ","+l+",")
		}
		if ok {
			v, _ := strconv.ParseFloat(m[2], 64)
			total += v
		}
	}
	return total
}

// TestAppsAgentDeploys: one agent runs three apps; a bump of one switches
// only it; the two apps on one repo cost the git server one ref listing
// per poll; every series carries its app; POST /reconcile polls all or
// one; `status --apps-dir` prints a line per app.
func TestAppsAgentDeploys(t *testing.T) {
	t.Parallel()
	f := startApps(t, nil)
	pids := map[string]int{}
	for name, a := range f.apps {
		pids[name] = readPID(t, a.dir)
	}
	f.release(t, "web", "2", nil)
	waitFor(t, "web to switch to 2", f.answers("web", "2"))
	for _, name := range []string{"api", "db"} {
		if !f.answers(name, "1")() || readPID(t, f.apps[name].dir) != pids[name] {
			t.Errorf("a bump of web touched %s: it answers %q (pid %d, was %d)", name, testkit.Answer(f.apps[name].addr), readPID(t, f.apps[name].dir), pids[name])
		}
	}

	// Idle polls: web and api each poll every second; the server sees one
	// listing per tick for both.
	m0, l0 := f.get(t, "/metrics"), f.xsrv.Stats().RefListings
	waitFor(t, "five idle polls of web and of api", func() bool {
		m := f.get(t, "/metrics")
		return sum(m, "reconciler_polls_total", `app="web"`)-sum(m0, "reconciler_polls_total", `app="web"`) >= 5 &&
			sum(m, "reconciler_polls_total", `app="api"`)-sum(m0, "reconciler_polls_total", `app="api"`) >= 5
	})
	m1, l1 := f.get(t, "/metrics"), f.xsrv.Stats().RefListings
	web := sum(m1, "reconciler_polls_total", `app="web"`) - sum(m0, "reconciler_polls_total", `app="web"`)
	api := sum(m1, "reconciler_polls_total", `app="api"`) - sum(m0, "reconciler_polls_total", `app="api"`)
	if listings := float64(l1 - l0); listings > max(web, api)+1 || listings >= web+api {
		t.Errorf("web polled %v times and api %v: the git server answered %v ref listings, want one per tick (at most %v)", web, api, listings, max(web, api)+1)
	}
	// Each v2 fetch asks for the ref once more: the server counts it as a
	// listing, the agent as a fetch.
	counted := sum(m1, "reconciler_git_requests_total", `app="web"`) + sum(m1, "reconciler_git_requests_total", `app="api"`)
	if d := counted - float64(l1); d < -2 || d > 2 {
		t.Errorf("web's and api's reconciler_git_requests_total add up to %v, the server saw %d listings", counted, l1)
	}
	for _, family := range []string{"reconciler_polls_total", "reconciler_switches_total", "reconciler_app_up", "reconciler_git_requests_total"} {
		for name := range f.apps {
			if !strings.Contains(m1, family+`{app="`+name+`"`) {
				t.Errorf("/metrics: no %s of app %s", family, name)
			}
		}
	}
	for _, line := range strings.Split(m1, "\n") {
		if strings.HasPrefix(line, "reconciler_") && !strings.HasPrefix(line, "reconciler_apps_not_running ") && !strings.Contains(line, `app="`) {
			t.Errorf("/metrics: a series without an app label: %s", line)
		}
	}
	if n := strings.Count(m1, "\ngo_goroutines "); n != 1 {
		t.Errorf("/metrics: go_goroutines %d times, want once", n)
	}
	if got := sum(m1, "reconciler_switches_total", `app="web"`); got != 2 {
		t.Errorf(`reconciler_switches_total{app="web"} = %v, want 2`, got)
	}

	for _, tc := range []struct {
		query string
		want  int
	}{{"", http.StatusAccepted}, {"?app=db", http.StatusAccepted}, {"?app=nope", http.StatusNotFound}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+f.listen+"/reconcile"+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("POST /reconcile%s: got %d, want %d", tc.query, resp.StatusCode, tc.want)
		}
	}

	out, errOut, code := runCLI(t, "status", "--apps-dir", f.appsDir)
	if code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != 3 || !regexp.MustCompile(`(?m)^web +ok +version 2 `).MatchString(out) {
		t.Errorf("status --apps-dir: exit %d, want 0 and one line per app with web on 2:\n%s%s", code, out, errOut)
	}
	st := f.status(t)
	if len(st) != 3 || st["web"].Status == nil || st["web"].Version != "2" || st["db"].App == nil || !st["db"].App.Up {
		t.Errorf("GET /status: got %+v, want the three apps, web on 2 and db up", st)
	}
}

// TestAppsAgentIsolation: a crashing release of one app is rolled back
// while another deploys; a suspended app holds while the others deploy.
func TestAppsAgentIsolation(t *testing.T) {
	t.Parallel()
	f := startApps(t, map[string]string{"db": "RECONCILER_HEALTH_BAKE=3s\n"})
	bad := f.release(t, "db", "2", map[string]any{"crash_after": "1s"})
	f.release(t, "api", "2", nil)
	waitFor(t, "api to deploy 2 while db bakes its release", f.answers("api", "2"))
	waitFor(t, "db's crashing release to be rolled back", func() bool {
		st := f.status(t)["db"]
		return st.Status != nil && len(st.Failed) > 0
	})
	assertSwitchedBack(t, f.apps["db"].dir, f.apps["db"].addr, "1", "exampleapp 1: db 1", bad)

	if _, errOut, code := runCLI(t, "suspend", "--dir", f.apps["web"].dir, "--reason", "incident 7"); code != 0 {
		t.Fatalf("suspend: %s", errOut)
	}
	f.release(t, "web", "3", nil)
	f.release(t, "api", "3", nil)
	waitFor(t, "api to deploy 3", f.answers("api", "3"))
	waitFor(t, "web to hold, suspended", func() bool {
		st := f.status(t)["web"]
		return st.Status != nil && st.LastPoll != nil && st.LastPoll.Result == reconcile.PollSuspended
	})
	if !f.answers("web", "1")() {
		t.Errorf("suspended web answers %q, want 1", testkit.Answer(f.apps["web"].addr))
	}
	// resume hands its poll to web's agent and waits for its pass.
	out, errOut, code := runCLI(t, "resume", "--dir", f.apps["web"].dir)
	if code != 0 || !strings.Contains(out, "version 3 at ") || !strings.Contains(out, "by the running agent") || !f.answers("web", "3")() {
		t.Errorf("resume of web: exit %d, web answers %q\n%s%s\nwant 0, the agent's pass and version 3", code, testkit.Answer(f.apps["web"].addr), out, errOut)
	}
	if !f.answers("db", "1")() {
		t.Errorf("db answers %q, want 1 still", testkit.Answer(f.apps["db"].addr))
	}
}

// TestAppsAgentFollowsTheDir: a malformed file is reported (log, /status,
// metric, status --apps-dir) and skipped; a file removed stops its app's
// agent and leaves the app running; added back, the app deploys what came
// meanwhile; SIGHUP re-reads the directory; SIGTERM stops the agent.
func TestAppsAgentFollowsTheDir(t *testing.T) {
	t.Parallel()
	f := startApps(t, nil)
	writeFileAtomic(t, filepath.Join(f.appsDir, "bad.env"), "# typo below\nRECONCILER_REPO "+f.xsrv.URL+"\n")
	waitFor(t, "bad.env reported", func() bool {
		return strings.Contains(f.status(t)["bad"].Error, "bad.env:2: ")
	})
	if !strings.Contains(f.logs.String(), "bad.env:2: ") {
		t.Errorf("bad.env was not logged")
	}
	if v := f.metric(t, "reconciler_apps_not_running"); v != 1 {
		t.Errorf("reconciler_apps_not_running = %v, want 1", v)
	}
	out, _, code := runCLI(t, "status", "--apps-dir", f.appsDir)
	if code != 2 || !regexp.MustCompile(`(?m)^bad +ERROR +.*bad\.env:2: "RECONCILER_REPO http`).MatchString(out) {
		t.Errorf("status --apps-dir with a bad file: exit %d, want 2 and its line:\n%s", code, out)
	}

	// A file naming web's directory too is refused by the agent; status
	// --apps-dir says so (it said ok, reading web's status twice), and web
	// is ok.
	web := f.apps["web"]
	writeFileAtomic(t, filepath.Join(f.appsDir, "dup.env"), fmt.Sprintf("RECONCILER_REPO=%s\nRECONCILER_PATH=web/current.conf\nRECONCILER_DIR=%s\n", web.repoURL, web.dir))
	refused := "dup.env: RECONCILER_DIR " + web.dir + ": app web runs there already"
	waitFor(t, "dup.env refused", func() bool { return strings.Contains(f.status(t)["dup"].Error, refused) })
	out, _, code = runCLI(t, "status", "--apps-dir", f.appsDir)
	if code != 2 || !regexp.MustCompile(`(?m)^dup +ERROR +.*`+regexp.QuoteMeta(refused)).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web +ok `).MatchString(out) {
		t.Errorf("status --apps-dir with dup.env naming web's directory: exit %d, want 2, dup refused and web ok:\n%s", code, out)
	}
	os.Remove(filepath.Join(f.appsDir, "dup.env"))

	f.release(t, "api", "2", nil)
	waitFor(t, "api to deploy beside a bad file", f.answers("api", "2"))

	pid := readPID(t, f.apps["db"].dir)
	os.Remove(filepath.Join(f.appsDir, "db.env"))
	waitFor(t, "db's agent to stop", func() bool { _, ok := f.status(t)["db"]; return !ok })
	layout, _ := reconcile.NewLayout(f.apps["db"].dir)
	waitFor(t, "the agent to let go of db's directory", func() bool {
		lock, err := layout.Lock()
		lock.Unlock()
		return err == nil
	})
	if !f.answers("db", "1")() || readPID(t, f.apps["db"].dir) != pid {
		t.Errorf("db's app did not keep running when its file was removed")
	}
	f.release(t, "db", "2", nil)
	f.writeEnv(t, "db", "")
	waitFor(t, "db, added back, to deploy 2", f.answers("db", "2"))

	os.Remove(filepath.Join(f.appsDir, "bad.env"))
	f.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "bad.env gone after SIGHUP", func() bool { _, ok := f.status(t)["bad"]; return !ok })
	f.cmd.Process.Signal(syscall.SIGTERM)
	if err := f.cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
	for name := range f.apps {
		if testkit.Answer(f.apps[name].addr) == "" {
			t.Errorf("after the agent stopped, %s does not answer", name)
		}
	}
}
