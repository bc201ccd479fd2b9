package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// appDir is an app directory laid out as the reconciler does it, with a
// running app started the seed's way: `./app.bin -c app.cfg` in the dir.
type appDir struct {
	dir  string
	addr string // where the app serves, learnt from its log once started
	log  string // stdout and stderr of every generation of the app
}

// listenAddr is "listen" in every cfg: a port the kernel picks, so parallel
// tests cannot collide. tableflip keys the socket it hands over by this
// string, so every generation gets the same socket, port and all.
const listenAddr = "127.0.0.1:0"

// newAppDir lays out release/app.1, release/app.2 (copies of the binaries
// named prog), release/cfg.1, release/cfg.2, and the links app.bin and
// app.cfg pointing at version 1.
func newAppDir(t *testing.T, prog string) *appDir {
	t.Helper()
	needBinaries(t)
	d := &appDir{dir: t.TempDir()}
	d.log = filepath.Join(d.dir, "app.log")
	if err := os.Mkdir(filepath.Join(d.dir, "release"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1", "2"} {
		b, err := os.ReadFile(binary(prog, v))
		if err != nil {
			t.Fatal(err)
		}
		d.writeFile(t, "release/app."+v, b, 0o755)
		d.writeCfg(t, "release/cfg."+v, map[string]any{"message": "hello from " + v})
	}
	d.point(t, "app.bin", "release/app.1")
	d.point(t, "app.cfg", "release/cfg.1")
	return d
}

func (d *appDir) writeFile(t *testing.T, name string, b []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, name), b, perm); err != nil {
		t.Fatal(err)
	}
}

// writeCfg writes an app config; "listen" is always listenAddr.
func (d *appDir) writeCfg(t *testing.T, name string, cfg map[string]any) {
	t.Helper()
	cfg["listen"] = listenAddr
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.writeFile(t, name, b, 0o644)
}

// point swaps link to target atomically: a new link under a temporary name
// renamed over the old one, as package restart does.
func (d *appDir) point(t *testing.T, link, target string) {
	t.Helper()
	tmp := filepath.Join(d.dir, "."+link+".tmp")
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, link)); err != nil {
		t.Fatal(err)
	}
}

// proc is the first generation of the app, which the test started.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once reaped; cmd.ProcessState is set then
}

// start runs the app in its own process group and kills the whole group
// (every generation it re-exec'd) when the test ends, whatever happened.
func (d *appDir) start(t *testing.T) *proc {
	t.Helper()
	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("./app.bin", "-c", "app.cfg", "-pidfile", "app.pid")
	cmd.Dir = d.dir
	// A -race binary sleeps 1s at exit by default: old pids would linger.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = logf, logf // a file, not a pipe: later generations inherit it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait() // reap the first generation; the later ones are reparented
		close(p.exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		d.checkLog(t)
	})
	testkit.WaitForWithin(t, 10*time.Second, "the app to log where it serves", func() bool {
		d.addr = d.servingAddr(cmd.Process.Pid)
		return d.addr != ""
	})
	testkit.WaitForWithin(t, 10*time.Second, "the app to serve", func() bool {
		_, err := d.get("/")
		return err == nil && d.pid() != 0
	})
	return p
}

// servingAddr is the addr of pid's "serving" log line, "" if there is none.
func (d *appDir) servingAddr(pid int) string {
	b, _ := os.ReadFile(d.log)
	for line := range strings.Lines(string(b)) {
		if !strings.Contains(line, "msg=serving") || !strings.Contains(line, "pid="+strconv.Itoa(pid)+" ") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if addr, ok := strings.CutPrefix(f, "addr="); ok {
				return addr
			}
		}
	}
	return ""
}

// checkLog fails the test on a data race reported by an app built with
// -race, and shows the app's log when the test failed.
func (d *appDir) checkLog(t *testing.T) {
	b, _ := os.ReadFile(d.log)
	if bytes.Contains(b, []byte("WARNING: DATA RACE")) {
		t.Errorf("the app reported a data race:\n%s", b)
		return
	}
	if t.Failed() {
		t.Logf("app log:\n%s", b)
	}
}

// logHas reports whether a line of the app's log contains every one of parts.
func (d *appDir) logHas(parts ...string) bool {
	b, _ := os.ReadFile(d.log)
	for line := range strings.Lines(string(b)) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// pid is the pid in app.pid, 0 if there is none yet.
func (d *appDir) pid() int {
	b, err := os.ReadFile(filepath.Join(d.dir, "app.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// probe is a client with a new connection per request, so a probe never
// leaves an idle connection behind to slow a drain down.
var probe = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get returns the body of a 200 answer to GET path.
func (d *appDir) get(path string) (string, error) {
	resp, err := probe.Get("http://" + d.addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return string(b), nil
}

// servesVersion reports whether GET / answers with version v.
func (d *appDir) servesVersion(v string) bool {
	body, err := d.get("/")
	return err == nil && strings.HasPrefix(body, "exampleapp "+v+":")
}

// hup sends SIGHUP to pid.
func hup(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP %d: %v", pid, err)
	}
}

// switchTo points the links at version v, SIGHUPs the app and waits until
// the new process answers with v and the old one has exited.
func (d *appDir) switchTo(t *testing.T, v string) {
	t.Helper()
	old := d.pid()
	d.point(t, "app.bin", "release/app."+v)
	d.point(t, "app.cfg", "release/cfg."+v)
	hup(t, old)
	testkit.WaitForWithin(t, 10*time.Second, "a new pid in app.pid", func() bool { p := d.pid(); return p != 0 && p != old })
	testkit.WaitForWithin(t, 10*time.Second, "version "+v+" to answer", func() bool { return d.servesVersion(v) })
	testkit.WaitForWithin(t, 10*time.Second, fmt.Sprintf("old pid %d to exit", old), func() bool { return !alive(old) })
}

// alive reports whether pid runs; a zombie (exited, not yet reaped by its
// new parent) counts as gone.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}
