package appset

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// recorder is the Serve of the tests: it records each run of an app with
// the content it ran, and fails for content starting with "bad".
type recorder struct {
	mu      sync.Mutex
	running map[string]string // app -> content of the run under way
	runs    map[string]int    // app -> runs started
}

func newRecorder() *recorder {
	return &recorder{running: map[string]string{}, runs: map[string]int{}}
}

func (r *recorder) serve(ctx context.Context, f File) error {
	if strings.HasPrefix(string(f.Data), "bad") {
		return errors.New("refused: " + string(f.Data))
	}
	r.mu.Lock()
	if _, twice := r.running[f.Name]; twice {
		r.mu.Unlock()
		return errors.New("two runs of " + f.Name + " at once")
	}
	for name, data := range r.running { // as an app's directory lock would
		if data == string(f.Data) {
			r.mu.Unlock()
			return errors.New(name + " runs " + data + " already")
		}
	}
	r.running[f.Name] = string(f.Data)
	r.runs[f.Name]++
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	delete(r.running, f.Name)
	r.mu.Unlock()
	return nil
}

func (r *recorder) state() (map[string]string, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, n := map[string]string{}, map[string]int{}
	for k, v := range r.running {
		run[k] = v
	}
	for k, v := range r.runs {
		n[k] = v
	}
	return run, n
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func appErr(s *Set, name string) error {
	for _, a := range s.Apps() {
		if a.Name == name {
			return a.Err
		}
	}
	return errors.New("no app " + name)
}

// TestSetFollowsTheDir: files present at the start run; a file added
// starts its app, changed (atomic replace and in-place write) restarts it
// with the new content after the old run stopped, removed stops it; a bad
// file is reported once and the others run; a reload retries it; other
// names are no apps; a file renamed stops the old app before the new one
// starts; Run stops everything when its context ends.
func TestSetFollowsTheDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "a.env", "A1")
	write(t, dir, "notes.txt", "x")
	write(t, dir, "b.env.swp", "x")
	logs := &testkit.SyncBuffer{}
	rec := newRecorder()
	s := &Set{Dir: dir, Serve: rec.serve, Log: slog.New(slog.NewTextHandler(logs, nil)), Rescan: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	reload := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, reload) }()
	is := func(want map[string]string) func() bool {
		return func() bool {
			run, _ := rec.state()
			if len(run) != len(want) {
				return false
			}
			for k, v := range want {
				if run[k] != v {
					return false
				}
			}
			return true
		}
	}
	testkit.WaitFor(t, "a at the start", is(map[string]string{"a": "A1"}))
	write(t, dir, "b.env", "B1")
	testkit.WaitFor(t, "b added", is(map[string]string{"a": "A1", "b": "B1"}))
	write(t, dir, "a.env", "A2")
	testkit.WaitFor(t, "a changed by rename", is(map[string]string{"a": "A2", "b": "B1"}))
	if err := os.WriteFile(filepath.Join(dir, "a.env"), []byte("A3"), 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "a changed in place", is(map[string]string{"a": "A3", "b": "B1"}))
	write(t, dir, "c.env", "bad one")
	testkit.WaitFor(t, "c reported", func() bool { err := appErr(s, "c"); return err != nil && strings.Contains(err.Error(), "refused") })
	if err := appErr(s, "c"); !strings.Contains(err.Error(), "refused: bad one") {
		t.Errorf("c: got %v, want Serve's error", err)
	}
	reload <- syscall.SIGHUP // retried, refused again: no second log line
	os.Remove(filepath.Join(dir, "b.env"))
	testkit.WaitFor(t, "b removed", is(map[string]string{"a": "A3"}))
	if n := strings.Count(logs.String(), "refused: bad one"); n != 1 {
		t.Errorf("the bad file was logged %d times, want once:\n%s", n, logs.String())
	}
	write(t, dir, "c.env", "C1")
	testkit.WaitFor(t, "c fixed", is(map[string]string{"a": "A3", "c": "C1"}))
	if appErr(s, "c") != nil {
		t.Errorf("c runs, but Apps says %v", appErr(s, "c"))
	}
	var names []string
	for _, a := range s.Apps() {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "a,c" {
		t.Errorf("Apps: got %v, want a and c", names)
	}
	_, runs := rec.state()
	if runs["a"] != 3 || runs["b"] != 1 || runs["c"] != 1 {
		t.Errorf("runs: got %v, want a 3, b 1, c 1", runs)
	}
	if err := os.Rename(filepath.Join(dir, "a.env"), filepath.Join(dir, "z.env")); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "a renamed z: a stopped before z starts", is(map[string]string{"z": "A3", "c": "C1"}))
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if run, _ := rec.state(); len(run) != 0 {
		t.Errorf("after Run returned, still running: %v", run)
	}
}

// TestSetRetriesOnRescan: an app that could not start is tried again on
// the slow timer, without a change of its file.
func TestSetRetriesOnRescan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "a.env", "A")
	var mu sync.Mutex
	tries := 0
	s := &Set{Dir: dir, Rescan: 50 * time.Millisecond, Serve: func(ctx context.Context, f File) error {
		mu.Lock()
		tries++
		n := tries
		mu.Unlock()
		if n < 3 {
			return errors.New("locked by another")
		}
		<-ctx.Done()
		return nil
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "the third try to run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return tries >= 3 && appErr(s, "a") == nil
	})
}

func TestRunNeedsTheDir(t *testing.T) {
	s := &Set{Dir: filepath.Join(t.TempDir(), "missing"), Serve: newRecorder().serve}
	if err := s.Run(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Run on a missing dir: got %v, want an error naming it", err)
	}
}

func TestAppName(t *testing.T) {
	for in, want := range map[string]string{"web.env": "web", "a_b-c.1.env": "a_b-c.1", ".env": "", "w b.env": "", "web.env~": "", "web": "", "wéb.env": ""} {
		got, ok := AppName(in)
		if (want != "") != ok || got != want && ok {
			t.Errorf("AppName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestEvery(t *testing.T) {
	e := Every(30 * time.Second)
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, end := range []time.Duration{0, time.Millisecond, 7 * time.Second, 29 * time.Second} {
		if got := e.Next(base.Add(end)); !got.Equal(base.Add(30 * time.Second)) {
			t.Errorf("Next(tick + %s) = %s, want the next tick", end, got)
		}
	}
	p := Phase()
	if a, b := p(1000), p(1000); a != b || a < 0 || a >= 1000 {
		t.Errorf("Phase: got %d then %d, want the same number in [0, 1000)", a, b)
	}
}

// TestSetFollowsAReplacedDir: the apps directory renamed away and a new
// one put in its place (as a deploy tool replaces a directory) is
// followed: the old dir's apps stop and the new one's start, without
// waiting for the slow rescan.
func TestSetFollowsAReplacedDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "apps")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.env", "A1")
	rec := newRecorder()
	s := &Set{Dir: dir, Serve: rec.serve, Rescan: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil) }()
	only := func(name, data string) func() bool {
		return func() bool { run, _ := rec.state(); return len(run) == 1 && run[name] == data }
	}
	testkit.WaitFor(t, "a at the start", only("a", "A1"))
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	fresh := dir + ".new"
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, fresh, "b.env", "B1")
	if err := os.Rename(fresh, dir); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "b of the new directory, a stopped", only("b", "B1"))
	write(t, dir, "c.env", "C1")
	testkit.WaitFor(t, "c added to the new directory", func() bool { run, _ := rec.state(); return run["c"] == "C1" })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
