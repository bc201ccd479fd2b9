package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/cobra"
)

// appsStatus is the status of every app of an apps dir: GET /status of
// `run --apps-dir`, and `status --apps-dir --json`.
type appsStatus struct {
	Apps []appStatus `json:"apps"`
}

// appStatus is one app: its name and file, why it does not run or its
// status cannot be read (error), and the status of its directory, with
// the fields of `status --json` (absent with an error).
type appStatus struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Error string `json:"error,omitempty"`
	*reconcile.Status
}

// exitCode is what `status --apps-dir` exits with: the worst of its apps,
// as `status --dir` would for each (2: a status not read, 1: not healthy).
func (s appsStatus) exitCode() int {
	code := 0
	for _, a := range s.Apps {
		switch {
		case a.Error != "" || a.Status == nil:
			return 2
		case !a.Healthy():
			code = 1
		}
	}
	return code
}

// render prints one line per app: name, state and Summary.
func (s appsStatus) render(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range s.Apps {
		state, text := "ok", ""
		switch {
		case a.Error != "":
			state, text = "ERROR", a.Error
		case a.Status == nil:
			state, text = "ERROR", "no status"
		default:
			text = a.Summary()
			if !a.Healthy() {
				state = "FAIL"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, state, strings.ReplaceAll(text, "\n", " "))
	}
	return tw.Flush()
}

// appsDirStatus reads the status of every app of dir from disk, as
// `status --dir` does for one: the app's directory is the file's
// RECONCILER_DIR (the agent's command line cannot give one to all). A file
// whose directory another file names too is refused as the agent refuses
// it: the app the agent runs there (appOwner) has its status, the others
// the agent's error.
func appsDirStatus(dir string) (appsStatus, error) {
	files, err := appset.Scan(dir)
	if err != nil {
		return appsStatus{}, err
	}
	dirs := make([]string, len(files))
	errs := make([]error, len(files))
	named := map[string][]string{} // app directory -> the apps whose file names it
	for i, f := range files {
		if dirs[i], errs[i] = fileDir(f); errs[i] == nil {
			named[dirs[i]] = append(named[dirs[i]], f.Name)
		}
	}
	st := appsStatus{Apps: []appStatus{}}
	for i, f := range files {
		a := appStatus{Name: f.Name, File: f.Path}
		err := errs[i]
		if err == nil && len(named[dirs[i]]) > 1 {
			err = sharedDir(f, dirs[i], named[dirs[i]])
		}
		if err == nil {
			var s reconcile.Status
			if s, err = readStatus(reconcile.Layout{Dir: dirs[i]}); err == nil {
				a.Status = &s
			}
		}
		if err != nil {
			a.Error = err.Error()
		}
		st.Apps = append(st.Apps, a)
	}
	return st, nil
}

// fileDir is the app directory an app file names, refused when it is not
// one.
func fileDir(f appset.File) (string, error) {
	vars, err := parseAppFile(f)
	if err != nil {
		return "", err
	}
	dir := ""
	for _, v := range vars {
		if v.Name == envName("dir") {
			dir = v.Value // the last one wins, as in systemd
		}
	}
	if dir == "" {
		return "", fmt.Errorf("%s: no %s", f.Path, envName("dir"))
	}
	layout, err := reconcile.NewLayout(dir)
	if err == nil {
		err = layout.CheckAppDir()
	}
	return layout.Dir, err
}

// sharedDir is the error of f, whose directory dir the files of the apps
// in names name too: nil for the app the agent runs there, the agent's
// refusal for the others (or for all when none of them is recorded
// running there).
func sharedDir(f appset.File, dir string, names []string) error {
	owner := appOwner(dir)
	if owner == f.Name {
		return nil
	}
	if slices.Contains(names, owner) {
		return fmt.Errorf("%s: RECONCILER_DIR %s: app %s runs there already", f.Path, dir, owner)
	}
	return fmt.Errorf("%s: RECONCILER_DIR %s is named by the files of %s: one app per directory", f.Path, dir, strings.Join(names, ", "))
}

// ownerFile is where `run --apps-dir` records which of its apps runs in a
// directory, so that `status --apps-dir` tells the app it refused from the
// one it runs when two files name the same directory.
func ownerFile(layout reconcile.Layout) string { return filepath.Join(layout.StateDir(), "app") }

// recordOwner records that app runs in layout's directory; its caller
// holds the directory's lock.
func recordOwner(layout reconcile.Layout, app string) error {
	return artifacts.WriteFileAtomic(ownerFile(layout), []byte(app+"\n"), 0o644)
}

// appOwner is the app last recorded running in dir, "" when none is.
func appOwner(dir string) string {
	data, err := os.ReadFile(ownerFile(reconcile.Layout{Dir: dir}))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// status is the status of every app of the agent: the apps dir's as it
// last read it, each app's from its directory.
func (ag *appsAgent) status() appsStatus {
	st := appsStatus{Apps: []appStatus{}}
	for _, app := range ag.set.Apps() {
		a := appStatus{Name: app.Name, File: app.Path}
		ag.mu.Lock()
		run := ag.apps[app.Name]
		ag.mu.Unlock()
		switch {
		case app.Err != nil:
			a.Error = app.Err.Error()
		case run == nil:
			a.Error = "starting"
		default:
			if s, err := readStatus(run.layout); err != nil {
				a.Error = err.Error()
			} else {
				a.Status = &s
			}
		}
		st.Apps = append(st.Apps, a)
	}
	return st
}

func (ag *appsAgent) httpServer(secret []byte) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.GathererFunc(ag.gather), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, ag.status())
	})
	mux.HandleFunc("POST /reconcile", func(w http.ResponseWriter, r *http.Request) {
		if !webhookAllowed(w, r, secret, ag.log) {
			return
		}
		n, err := ag.trigger(r.URL.Query().Get("app"))
		var nf *noSuchApp
		switch {
		case errors.As(err, &nf):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, "poll scheduled (%d apps)\n", n)
		}
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// noSuchApp is POST /reconcile?app=NAME for a NAME without a file.
type noSuchApp struct{ name string }

func (e *noSuchApp) Error() string { return "no app " + e.name + " in the apps dir" }

// trigger asks for a poll now of the app called name, or of every app
// that runs when name is "". The git sources' listings are not shared
// with polls begun before: the branch has just moved.
func (ag *appsAgent) trigger(name string) (int, error) {
	known := false
	for _, a := range ag.set.Apps() {
		known = known || a.Name == name
	}
	if name != "" && !known {
		return 0, &noSuchApp{name: name}
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	n := 0
	for app, run := range ag.apps {
		if name == "" || app == name {
			run.git.Invalidate()
			run.agent.Trigger()
			n++
		}
	}
	if name != "" && n == 0 {
		return 0, fmt.Errorf("app %s does not run (see GET /status)", name)
	}
	return n, nil
}

// gather is /metrics: the Go and process collectors once, then every
// running app's series, labelled with its name.
func (ag *appsAgent) gather() ([]*dto.MetricFamily, error) {
	gs := prometheus.Gatherers{ag.base}
	ag.mu.Lock()
	for _, run := range ag.apps {
		gs = append(gs, run.reg)
	}
	ag.mu.Unlock()
	return gs.Gather()
}

// appsStatusCmd is `status --apps-dir`.
func appsStatusCmd(cmd *cobra.Command, c *Config, x *appsFlags, asJSON bool, stdout io.Writer) error {
	if err := bindEnv(cmd); err != nil {
		return &exitError{code: 2, err: err}
	}
	if c.Dir != "" {
		return &exitError{code: 2, err: &usageError{msg: "--dir and --apps-dir: give one"}}
	}
	st, err := appsDirStatus(x.AppsDir)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--apps-dir %s: %w", x.AppsDir, err)}
	}
	if asJSON {
		err = writeJSON(stdout, st)
	} else {
		err = st.render(stdout)
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if code := st.exitCode(); code != 0 {
		return &exitError{code: code} // said above; for scripts and monitoring
	}
	return nil
}
