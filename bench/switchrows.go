package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	return bakeRows(t, work, apps, o)
}

// benchBake is the --health-bake of the bake rows.
const benchBake = 2 * time.Second

// bakeRows: what --health-bake adds to a switch beyond the bake itself:
// wall time past the bake, and the agent's CPU while it watches the new
// release (no load: the agent's own cost), vs the same switch without a
// bake, in the same run.
func bakeRows(t *table, work string, apps map[int]string, o options) error {
	var wall, cpu [2][]float64 // [0] no bake, [1] bake
	for i, bake := range []time.Duration{0, benchBake} {
		sd, err := newSwitchDir(work, apps, restart.ModeHUP)
		if err != nil {
			return err
		}
		dir, sw, bins, cfgs := sd.dir, sd.sw, sd.bins, sd.cfgs
		sw.HealthBake = bake
		ctx := context.Background()
		if err := sw.Switch(ctx, appdir.Target{Bin: bins[1], Cfg: cfgs[1]}); err != nil {
			killDir(dir)
			return err
		}
		for n := range max(o.runs, 3) {
			v := 2 - n%2
			start, c0 := time.Now(), selfCPU()
			if err := sw.Switch(ctx, appdir.Target{Bin: bins[v], Cfg: cfgs[v]}); err != nil {
				killDir(dir)
				return fmt.Errorf("switch with --health-bake %s: %w", bake, err)
			}
			wall[i] = append(wall[i], ms(time.Since(start)-bake))
			cpu[i] = append(cpu[i], ms(selfCPU()-c0))
		}
		killDir(dir)
	}
	w0, w1 := summarize(wall[0]), summarize(wall[1])
	c0, c1 := summarize(cpu[0]), summarize(cpu[1])
	what := fmt.Sprintf("switch (hup) with --health-bake %s, no load", benchBake)
	t.add(what+": wall time beyond the bake", w1.String("ms"), w0.String("ms"), "the same switch without a bake", w1.med/w0.med)
	t.add(what+": the agent's CPU per switch, bake included", c1.String("ms"), c0.String("ms"), "the same switch without a bake", c1.med/c0.med)
	return nil
}

// switchDir is an app directory holding builds of the app (release/app.N
// and cfg.N, listening on addr) and a switcher for it.
type switchDir struct {
	dir, addr  string
	sw         *restart.Switcher
	bins, cfgs map[int]string
}

func newSwitchDir(work string, apps map[int]string, mode restart.Mode) (switchDir, error) {
	dir, err := os.MkdirTemp(work, "switch-")
	if err != nil {
		return switchDir{}, err
	}
	addr, err := testkit.FreeAddr()
	if err != nil {
		return switchDir{}, err
	}
	bins, cfgs := map[int]string{}, map[int]string{}
	os.MkdirAll(filepath.Join(dir, "release"), 0o755)
	for v, src := range apps {
		data, _ := os.ReadFile(src)
		bins[v] = filepath.Join(dir, "release", appdir.BinName(strconv.Itoa(v)))
		cfgs[v] = filepath.Join(dir, "release", appdir.CfgName(strconv.Itoa(v)))
		os.WriteFile(bins[v], data, 0o755)
		js, _ := json.Marshal(map[string]string{"listen": addr, "message": "bench"})
		os.WriteFile(cfgs[v], js, 0o640)
	}
	sw := &restart.Switcher{Dir: dir, Mode: mode, Exec: "./app.bin -c app.cfg",
		HealthURL: "http://" + addr + "/healthz", HealthTimeout: 30 * time.Second, StopGrace: 10 * time.Second}
	return switchDir{dir: dir, addr: addr, sw: sw, bins: bins, cfgs: cfgs}, nil
}

func switchUnderLoad(work string, apps map[int]string, mode restart.Mode, keepAlive bool, n int) (loadgen.Result, error) {
	sd, err := newSwitchDir(work, apps, mode)
	if err != nil {
		return loadgen.Result{}, err
	}
	dir, addr, sw, bins, cfgs := sd.dir, sd.addr, sd.sw, sd.bins, sd.cfgs
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
