package agenthost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/robfig/cron/v3"
)

// openTestApp is an OpenFunc as main's, on fewer settings: the file's
// RECONCILER_REPO and RECONCILER_DIR; its apps poll when asked (hourly).
func openTestApp(f appset.File, _ *slog.Logger) (*App, error) {
	vars, err := ParseAppFile(f)
	if err != nil {
		return nil, err
	}
	set := map[string]string{}
	for _, v := range vars {
		set[v.Name] = v.Value
	}
	start := func(ctx context.Context, p Parts) (*Running, error) {
		layout, err := reconcile.NewLayout(set["RECONCILER_DIR"])
		if err != nil {
			return nil, err
		}
		lock, err := layout.Lock()
		if err != nil {
			return nil, err
		}
		return &Running{Engine: newEngine(layout, p.Git, p.Metrics), Close: func() { lock.Unlock() }}, nil
	}
	return &App{Dir: set["RECONCILER_DIR"], Schedule: cron.Every(time.Hour), RepoKey: set["RECONCILER_REPO"],
		Source: gitsrc.Options{URL: set["RECONCILER_REPO"]}, Start: start}, nil
}

// appsRig is an Apps on a directory of app files: web and api follow the
// deploy repo x, db the repo y; twin names web's directory, bad is no app
// file.
type appsRig struct {
	h       *Apps
	c       client
	appsDir string
	x, y    *deployRepo
	dirs    map[string]string
	stop    func() error // ends Run and returns its error
}

func startApps(t *testing.T, secret []byte) *appsRig {
	t.Helper()
	r := &appsRig{appsDir: t.TempDir(), x: newDeployRepo(t), y: newDeployRepo(t), dirs: map[string]string{}}
	for name, repo := range map[string]*deployRepo{"web": r.x, "api": r.x, "db": r.y} {
		r.dirs[name] = t.TempDir()
		writeFile(t, filepath.Join(r.appsDir, name+".env"),
			fmt.Sprintf("RECONCILER_REPO=%s\nRECONCILER_DIR=%s\n", repo.URL(), r.dirs[name]))
	}
	writeFile(t, filepath.Join(r.appsDir, "twin.env"), fmt.Sprintf("RECONCILER_REPO=%s\nRECONCILER_DIR=%s\n", r.x.URL(), r.dirs["web"]))
	writeFile(t, filepath.Join(r.appsDir, "bad.env"), "PATH=/bin\n")
	r.h = NewApps(r.appsDir, t.TempDir(), openTestApp, discard)
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.h.Run(ctx, nil) }()
	served := make(chan error, 1)
	go func() { served <- ServeHTTP(ctx, NewServer(r.h, secret, discard), ln) }()
	r.stop = sync.OnceValue(func() error { cancel(); return errors.Join(<-done, <-served) })
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run after its context ended: got %v, want nil", err)
		}
	})
	r.c = client{t: t, addr: ln.Addr().String()}
	for _, name := range []string{"api", "db"} {
		waitFor(t, name+" at version 1", func() bool { return r.c.version(name) == "1" })
	}
	waitFor(t, "web or twin at version 1", func() bool { return r.c.version("web") == "1" || r.c.version("twin") == "1" })
	return r
}

// byName is the apps of st by name.
func byName(st AppsStatus) map[string]AppStatus {
	m := map[string]AppStatus{}
	for _, a := range st.Apps {
		m[a.Name] = a
	}
	return m
}

// TestAppsEndpoints: the endpoints of many apps list every app, label
// every series with its app, and poll one app or all; apps of one repo
// share one git source; one app per directory.
func TestAppsEndpoints(t *testing.T) {
	secret := []byte("s3cret")
	r := startApps(t, secret)
	c := r.c

	apps := byName(c.apps())
	if len(apps) != 5 {
		t.Fatalf("GET /status: %d apps, want 5: %+v", len(apps), apps)
	}
	if e := apps["bad"].Error; !strings.Contains(e, "bad.env") || !strings.Contains(e, "RECONCILER_* settings only") {
		t.Errorf("bad: error %q, want the file and why it is refused", e)
	}
	owner, refused := "web", "twin"
	if apps["web"].Status == nil {
		owner, refused = "twin", "web"
	}
	if e := apps[refused].Error; !strings.Contains(e, "app "+owner+" runs there already") {
		t.Errorf("%s: error %q, want \"app %s runs there already\"", refused, e, owner)
	}
	waitFor(t, "reconciler_apps_not_running 2", func() bool { return c.metric("reconciler_apps_not_running") == 2 })
	for _, app := range []string{owner, "api", "db"} {
		label := `app="` + app + `"`
		waitFor(t, "a poll of "+app+" in /metrics", func() bool { return c.metric("reconciler_polls_total", label, `result="applied"`) == 1 })
	}
	if got := c.metric("go_goroutines"); got <= 0 {
		t.Errorf("go_goroutines: got %v, want the Go collector's series once", got)
	}

	r.h.mu.Lock()
	groups := len(r.h.groups)
	users := r.h.groups[r.x.URL()].users
	r.h.mu.Unlock()
	if groups != 2 || users != 2 {
		t.Errorf("git sources: %d shared by %d apps of x, want 2, x's shared by its 2 running apps", groups, users)
	}

	body := []byte("{}")
	if code, answer := c.post("?app=nope", body, secret); code != http.StatusNotFound || !strings.Contains(answer, "no app nope") {
		t.Errorf("POST /reconcile?app=nope: got %d %q, want 404 no app nope", code, answer)
	}
	if code, answer := c.post("?app=bad", body, secret); code != http.StatusConflict || !strings.Contains(answer, "app bad does not run") {
		t.Errorf("POST /reconcile?app=bad: got %d %q, want 409 app bad does not run", code, answer)
	}
	if code, _ := c.post("?app=api", body, nil); code != http.StatusUnauthorized {
		t.Errorf("POST /reconcile unsigned: got %d, want 401", code)
	}

	r.x.release("2")
	if code, answer := c.post("?app=api", body, secret); code != http.StatusAccepted || answer != "poll scheduled (1 apps)\n" {
		t.Errorf("POST /reconcile?app=api: got %d %q, want 202 \"poll scheduled (1 apps)\\n\"", code, answer)
	}
	waitFor(t, "api at version 2", func() bool { return c.version("api") == "2" })
	if got := c.version(owner); got != "1" {
		t.Errorf("%s after a poll of api alone: version %q, want 1", owner, got)
	}
	if code, answer := c.post("", body, secret); code != http.StatusAccepted || answer != "poll scheduled (3 apps)\n" {
		t.Errorf("POST /reconcile: got %d %q, want 202 \"poll scheduled (3 apps)\\n\"", code, answer)
	}
	waitFor(t, owner+" at version 2", func() bool { return c.version(owner) == "2" })
}

// TestDirStatusAgreesWithTheHost: DirStatus, which reads the files and
// the directories without the agent, says what the agent's GET /status
// says of who runs where.
func TestDirStatusAgreesWithTheHost(t *testing.T) {
	r := startApps(t, nil)
	live := byName(r.c.apps())
	disk, err := DirStatus(r.appsDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range byName(disk) {
		l := live[name]
		if (d.Status == nil) != (l.Status == nil) {
			t.Errorf("%s: on disk status %v error %q, from the agent status %v error %q", name, d.Status != nil, d.Error, l.Status != nil, l.Error)
		}
		if d.Status != nil && d.Version != l.Version {
			t.Errorf("%s: version on disk %q, from the agent %q", name, d.Version, l.Version)
		}
	}
	if got := disk.ExitCode(); got != 2 {
		t.Errorf("exit code of an apps dir with a refused file: got %d, want 2", got)
	}
}

// TestAppsLeaveNothingBehind: once Run returns, no app holds its
// directory, its lock or its git source.
func TestAppsLeaveNothingBehind(t *testing.T) {
	r := startApps(t, nil)
	if err := r.stop(); err != nil {
		t.Fatalf("Run after its context ended: got %v, want nil", err)
	}
	r.h.mu.Lock()
	apps, dirs, groups := len(r.h.apps), len(r.h.dirs), len(r.h.groups)
	r.h.mu.Unlock()
	if apps+dirs+groups != 0 {
		t.Errorf("after Run: %d apps, %d directories, %d git sources held, want none", apps, dirs, groups)
	}
	for name, dir := range r.dirs {
		lock, err := reconcile.Layout{Dir: dir}.Lock()
		if err != nil {
			t.Errorf("%s: the directory is still locked after Run: %v", name, err)
			continue
		}
		lock.Unlock()
	}
}

// TestAppsReportAgent: the agent's own status reaches every running
// app's directory and GET /status; status from disk (DirStatus) shows it
// once, from the app whose record names a live agent.
func TestAppsReportAgent(t *testing.T) {
	r := startApps(t, nil)
	st := reconcile.AgentStatus{Version: "2", Revision: "abc", PID: os.Getpid(), Failed: map[string]string{"3": "exited"}}
	if err := r.h.ReportAgent(st); err != nil {
		t.Fatal(err)
	}
	if got := r.c.apps().Agent; got == nil || got.Version != "2" || got.Failed["3"] != "exited" {
		t.Errorf("GET /status agent: got %+v, want version 2 with 3 failed", got)
	}
	for _, name := range []string{"api", "db"} {
		s, err := reconcile.Layout{Dir: r.dirs[name]}.ReadStatus()
		if err != nil || s.Agent == nil || s.Agent.Version != "2" {
			t.Errorf("%s: agent in its directory: got %+v (%v), want version 2", name, s.Agent, err)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// An older agent's record, its pid gone, in api's directory: db's names the live one.
	if err := (reconcile.Layout{Dir: r.dirs["api"]}).WriteAgentStatus(&reconcile.AgentStatus{Version: "1", PID: 1 << 22}); err != nil {
		t.Fatal(err)
	}
	disk, err := DirStatus(r.appsDir)
	if err != nil {
		t.Fatal(err)
	}
	if disk.Agent == nil || disk.Agent.Version != "2" {
		t.Errorf("DirStatus agent: got %+v, want the live agent's, version 2", disk.Agent)
	}
	var out strings.Builder
	if err := disk.Render(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\nagent:") != 1 || !strings.Contains(out.String(), "\nagent failed: version 3: exited;") {
		t.Errorf("Render:\n%s\nwant one agent: line and the failed version after the apps", out.String())
	}
}
