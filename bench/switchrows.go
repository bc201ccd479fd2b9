package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// switchRows: failed requests and p99 over N switches under a saturating
// load loop, SIGHUP handover (the agent's way) vs stop-then-start of the
// same app, and vs a SIGHUP handover done the naive way (tableflip's own
// example: http.Server.Shutdown as soon as Exit fires), in the same run.
func switchRows(t *table, work string, o options) error {
	apps, err := appBuildsOf(filepath.Join(work, "apps"), "./cmd/exampleapp", 2)
	if err != nil {
		return err
	}
	naive, err := appBuildsOf(filepath.Join(work, "naive"), "./cmd/exampleapp/testdata/naiveapp", 2)
	if err != nil {
		return err
	}
	for _, keepAlive := range []bool{false, true} {
		res := map[restart.Mode]loadgen.Result{}
		for _, mode := range []restart.Mode{restart.ModeHUP, restart.ModeRestart} {
			r, err := switchUnderLoad(work, apps, mode, keepAlive, o.switches)
			if err != nil {
				return err
			}
			res[mode] = r
		}
		conn := "new connection per request"
		if keepAlive {
			conn = "keep-alive"
		}
		h, n := res[restart.ModeHUP], res[restart.ModeRestart]
		what := fmt.Sprintf("%d switches under load (%s)", o.switches, conn)
		t.add(what+", failed requests", fmt.Sprintf("%d of %d", h.Failed, h.OK+h.Failed),
			fmt.Sprintf("%d of %d", n.Failed, n.OK+n.Failed), "stop, then start (--restart restart)", 0)
		nv, err := switchUnderLoad(work, naive, restart.ModeHUP, keepAlive, o.switches)
		if err != nil {
			return err
		}
		t.add(what+", failed requests", fmt.Sprintf("%d of %d", h.Failed, h.OK+h.Failed),
			fmt.Sprintf("%d of %d", nv.Failed, nv.OK+nv.Failed), "naive handover (Shutdown when tableflip's Exit fires)", 0)
		t.add(what+", p99 latency", h.P99().Round(time.Microsecond).String(), n.P99().Round(time.Microsecond).String(),
			"stop, then start (--restart restart)", float64(h.P99())/float64(n.P99()))
	}
	return nil
}

func switchUnderLoad(work string, apps map[int]string, mode restart.Mode, keepAlive bool, n int) (loadgen.Result, error) {
	dir, err := os.MkdirTemp(work, "switch-")
	if err != nil {
		return loadgen.Result{}, err
	}
	addr, err := testkit.FreeAddr()
	if err != nil {
		return loadgen.Result{}, err
	}
	bins, cfgs := map[int]string{}, map[int]string{}
	os.MkdirAll(filepath.Join(dir, "release"), 0o755)
	for v, src := range apps {
		data, _ := os.ReadFile(src)
		bins[v] = filepath.Join(dir, "release", fmt.Sprintf("app.%d", v))
		cfgs[v] = filepath.Join(dir, "release", fmt.Sprintf("cfg.%d", v))
		os.WriteFile(bins[v], data, 0o755)
		js, _ := json.Marshal(map[string]string{"listen": addr, "message": "bench"})
		os.WriteFile(cfgs[v], js, 0o640)
	}
	sw := &restart.Switcher{Dir: dir, Mode: mode, Exec: "./app.bin -c app.cfg",
		HealthURL: "http://" + addr + "/healthz", HealthTimeout: 30 * time.Second, StopGrace: 10 * time.Second}
	ctx := context.Background()
	defer killDir(dir)
	if err := sw.Switch(ctx, appdir.Target{Bin: bins[1], Cfg: cfgs[1]}); err != nil {
		return loadgen.Result{}, err
	}
	load := loadgen.Start(ctx, loadgen.Options{URL: "http://" + addr + "/", Workers: 4, KeepAlive: keepAlive, Timeout: 2 * time.Second})
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < n; i++ {
		v := 2 - i%2
		if err := sw.Switch(ctx, appdir.Target{Bin: bins[v], Cfg: cfgs[v]}); err != nil {
			load.Stop()
			return loadgen.Result{}, fmt.Errorf("%s switch %d: %w", mode, i, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	return load.Stop(), nil
}

func killDir(dir string) {
	procs, _ := restart.Finder{Dir: dir}.Find()
	for _, p := range procs {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
}
