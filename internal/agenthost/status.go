package agenthost

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// ReadStatus is the status of an app directory, with the app process
// found there: `status --json` and GET /status.
func ReadStatus(layout reconcile.Layout) (reconcile.Status, error) {
	st, err := layout.ReadStatus()
	if err != nil {
		return st, err
	}
	if procs, err := (restart.Finder{Dir: layout.Dir}).Find(); err == nil && len(procs) > 0 {
		st.SetApp(procs[0].PID, procs[0].Exe, st.BinFile)
	} else {
		st.SetApp(0, "", "")
	}
	return st, nil
}

// AppsStatus is the status of every app of an apps dir: GET /status of
// `run --apps-dir`, and `status --apps-dir --json`.
type AppsStatus struct {
	Apps []AppStatus `json:"apps"`
	// Agent is the agent that updates itself (run --apps-dir
	// --agent-path), as it last reported itself; nil otherwise.
	Agent *reconcile.AgentStatus `json:"agent,omitempty"`
}

// AppStatus is one app: its name and file, why it does not run or its
// status cannot be read (error), and the status of its directory, with
// the fields of `status --json` (absent with an error).
type AppStatus struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Error string `json:"error,omitempty"`
	*reconcile.Status
}

// ExitCode is what `status --apps-dir` exits with: the worst of its apps,
// as `status --dir` would for each (2: a status not read, 1: not healthy).
func (s AppsStatus) ExitCode() int {
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

// Render prints one line per app: name, state and Summary; then the
// agent's lines, as `status --dir` prints them.
func (s AppsStatus) Render(w io.Writer) error {
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
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.Agent != nil {
		for _, l := range s.Agent.Lines() {
			if _, err := fmt.Fprintf(w, "%-12s %s\n", l[0]+":", l[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// DirStatus reads the status of every app of dir from disk, as
// ReadStatus does for one: the app's directory is the file's
// RECONCILER_DIR (the agent's command line cannot give one to all). A file
// whose directory another file names too is refused as the agent refuses
// it: the app the agent runs there (recorded by Apps) has its status, the
// others the agent's error.
func DirStatus(dir string) (AppsStatus, error) {
	files, err := appset.Scan(dir)
	if err != nil {
		return AppsStatus{}, err
	}
	dirs := make([]string, len(files))
	errs := make([]error, len(files))
	named := map[string][]string{} // app directory -> the apps whose file names it
	for i, f := range files {
		if dirs[i], errs[i] = fileDir(f); errs[i] == nil {
			named[dirs[i]] = append(named[dirs[i]], f.Name)
		}
	}
	st := AppsStatus{Apps: []AppStatus{}}
	for i, f := range files {
		a := AppStatus{Name: f.Name, File: f.Path}
		err := errs[i]
		if err == nil && len(named[dirs[i]]) > 1 {
			err = sharedDir(f, dirs[i], named[dirs[i]])
		}
		if err == nil {
			var s reconcile.Status
			if s, err = ReadStatus(reconcile.Layout{Dir: dirs[i]}); err == nil {
				a.Status = &s
			}
		}
		if err != nil {
			a.Error = err.Error()
		}
		st.Apps = append(st.Apps, a)
	}
	st.Agent = runningAgent(st.Apps)
	return st, nil
}

// runningAgent is the agent status the apps' directories hold (run
// --apps-dir writes it to each): the first whose agent still runs, else
// the first found (an app the last agent could not start keeps an
// earlier one's).
func runningAgent(apps []AppStatus) *reconcile.AgentStatus {
	var first *reconcile.AgentStatus
	for _, a := range apps {
		if a.Status == nil || a.Status.Agent == nil {
			continue
		}
		if procfs.Alive(a.Status.Agent.PID) {
			return a.Status.Agent
		}
		if first == nil {
			first = a.Status.Agent
		}
	}
	return first
}

// fileDir is the app directory an app file names, refused when it is not
// one.
func fileDir(f appset.File) (string, error) {
	vars, err := ParseAppFile(f)
	if err != nil {
		return "", err
	}
	dir := ""
	for _, v := range vars {
		if v.Name == dirVar {
			dir = v.Value // the last one wins, as in systemd
		}
	}
	if dir == "" {
		return "", fmt.Errorf("%s: no %s", f.Path, dirVar)
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
		return fmt.Errorf("%s: %s %s: app %s runs there already", f.Path, dirVar, dir, owner)
	}
	return fmt.Errorf("%s: %s %s is named by the files of %s: one app per directory", f.Path, dirVar, dir, strings.Join(names, ", "))
}

// ownerFile is where Apps records which of its apps runs in a directory,
// so that DirStatus tells the app it refused from the one it runs when two
// files name the same directory.
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
