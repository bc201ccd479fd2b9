package restart

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// builtApp holds the example app built once per version by TestMain.
var builtApp = map[string]string{}

func TestMain(m *testing.M) {
	testkit.ExecChain(testkit.ExecChainLast) // TestFindsAppThroughExec's app
	dir, err := os.MkdirTemp("", "restart-test-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for _, v := range []string{"1", "2"} {
			out := filepath.Join(dir, "exampleapp-"+v)
			cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X main.version="+v, "../cmd/exampleapp")
			if b, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build example app: %v\n%s", err, b)
				return 1
			}
			builtApp[v] = out
		}
		return m.Run()
	}()
	os.Exit(code)
}

// appDir is an app directory laid out as docs/reference.md describes, with releases
// of the example app.
type appDir struct {
	dir, addr string
}

func newAppDir(t *testing.T) *appDir {
	t.Helper()
	d := &appDir{dir: t.TempDir(), addr: freeAddr(t)}
	if err := os.MkdirAll(filepath.Join(d.dir, "release"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.killAll(t) })
	return d
}

func freeAddr(t *testing.T) string {
	addr, err := testkit.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// release installs the example app of build version v as release name
// (app.<name>, cfg.<name>) with extra config keys.
func (d *appDir) release(t *testing.T, v, name string, cfg map[string]any) (bin, cfgFile string) {
	t.Helper()
	data, err := os.ReadFile(builtApp[v])
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(d.dir, "release", "app."+name)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	c := map[string]any{"listen": d.addr, "message": "release " + name}
	for k, v := range cfg {
		c[k] = v
	}
	js, _ := json.Marshal(c)
	cfgFile = filepath.Join(d.dir, "release", "cfg."+name)
	if err := os.WriteFile(cfgFile, js, 0o640); err != nil {
		t.Fatal(err)
	}
	return bin, cfgFile
}

func (d *appDir) switcher(t *testing.T, mode Mode) *Switcher {
	return &Switcher{
		Dir: d.dir, Mode: mode, Exec: "./app.bin -c app.cfg",
		HealthURL: "http://" + d.addr + "/healthz", HealthTimeout: 10 * time.Second,
		StopGrace: 5 * time.Second, Log: testLogger(t),
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// get returns the first line the app answers on path, on a new connection
// (a kept-alive one may lead to an old process still draining).
func (d *appDir) get(path string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + d.addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	line, _, _ := strings.Cut(string(b), "\n")
	return line, nil
}

func (d *appDir) procs(t *testing.T) []Proc {
	t.Helper()
	p, err := Finder{Dir: d.dir}.Find()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (d *appDir) killAll(t *testing.T) {
	for _, p := range d.procs(t) {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}
