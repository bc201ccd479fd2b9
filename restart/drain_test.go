package restart

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// slowRequest starts GET /slow?d=... and returns once the app sent the
// headers (the request is in flight on the process that serves now); the
// channel yields the body's first line, or the error.
func (d *appDir) slowRequest(t *testing.T, dur time.Duration) <-chan string {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/slow?d=" + dur.String())
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			ch <- "error: " + err.Error()
			return
		}
		line, _, _ := strings.Cut(string(b), "\n")
		ch <- line
	}()
	return ch
}

// twoReleases are the example app's versions 1 and 2 in an app dir.
type twoReleases struct{ bin1, cfg1, bin2, cfg2 string }

// startOn1 makes an app dir with releases 1 and 2, a hup switcher (tuned by
// tune) and the app running release 1.
func startOn1(t *testing.T, tune func(*Switcher)) (*appDir, *Switcher, twoReleases) {
	t.Helper()
	d := newAppDir(t)
	var r twoReleases
	r.bin1, r.cfg1 = d.release(t, "1", "1", nil)
	r.bin2, r.cfg2 = d.release(t, "2", "2", nil)
	sw := d.switcher(t, ModeHUP)
	tune(sw)
	if err := sw.Switch(context.Background(), appdir.Target{Bin: r.bin1, Cfg: r.cfg1}); err != nil {
		t.Fatal(err)
	}
	return d, sw, r
}

// TestSwitchWhileOldDrains: a stream that outlives HealthTimeout on the old
// process is no reason to roll back; the stream ends on the old version;
// links and process agree; a revert right after waits for the drain
// (not counted in HealthTimeout) and lands.
func TestSwitchWhileOldDrains(t *testing.T) {
	t.Parallel()
	d, sw, r := startOn1(t, func(sw *Switcher) { sw.HealthTimeout = 2 * time.Second })
	bin1, cfg1, bin2, cfg2 := r.bin1, r.cfg1, r.bin2, r.cfg2
	ctx := context.Background()
	stream := d.slowRequest(t, 5*time.Second)
	if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatalf("switch to 2 while 1 drains a 5 s stream (health timeout 2 s): %v", err)
	}
	if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.2" {
		t.Errorf("app.bin -> %s, want release/app.2", got)
	}
	if p := d.procs(t); len(p) != 2 || p[0].Exe != bin2 || p[1].Exe != bin1 {
		t.Errorf("processes %+v, want the new one on app.2 and the old one still draining on app.1", p)
	}
	start := time.Now()
	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatalf("revert while the first handover drains: %v", err)
	}
	waited := time.Since(start)
	if got := <-stream; got != "exampleapp 1: slept 5s" {
		t.Errorf("the stream across the switch ended with %q, want it finished by version 1", got)
	}
	if p := d.procs(t); len(p) == 0 || p[0].Exe != bin1 {
		t.Errorf("processes after the revert %+v, want the youngest on app.1", p)
	}
	if got, _ := d.get("/"); !strings.HasPrefix(got, "exampleapp 1:") {
		t.Errorf("after the revert the app answers %q, want version 1", got)
	}
	t.Logf("the revert waited %s for the drain", waited.Round(time.Millisecond))
	if waited < 2*time.Second {
		t.Errorf("the revert took %s, want it to wait for the 5 s stream to drain", waited)
	}
}

// TestDrainTimeout: a drain that outlasts DrainTimeout is a DrainError,
// not an unhealthy release, and nothing is switched.
func TestDrainTimeout(t *testing.T) {
	t.Parallel()
	d, sw, r := startOn1(t, func(sw *Switcher) { sw.DrainTimeout = time.Second })
	bin1, cfg1, bin2, cfg2 := r.bin1, r.cfg1, r.bin2, r.cfg2
	ctx := context.Background()
	stream := d.slowRequest(t, 6*time.Second)
	if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatal(err)
	}
	err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1})
	var derr *DrainError
	var uerr *UnhealthyError
	if !errors.As(err, &derr) || errors.As(err, &uerr) {
		t.Fatalf("switch while a drain outlasts --drain-timeout: got %v, want a DrainError only", err)
	}
	if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.2" {
		t.Errorf("app.bin -> %s after the refused switch, want release/app.2 (nothing switched)", got)
	}
	<-stream
	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatalf("switch once the drain is over: %v", err)
	}
}

// TestFlipsUnderSlowLoad: slow requests under load across two flips a few
// seconds apart: both flips land and no request fails.
func TestFlipsUnderSlowLoad(t *testing.T) {
	t.Parallel()
	d, sw, r := startOn1(t, func(sw *Switcher) { sw.HealthTimeout = 2 * time.Second })
	bin1, cfg1, bin2, cfg2 := r.bin1, r.cfg1, r.bin2, r.cfg2
	ctx := context.Background()
	slow := loadgen.Start(ctx, loadgen.Options{URL: "http://" + d.addr + "/slow?d=1s", Workers: 3, Timeout: 10 * time.Second})
	fast := loadgen.Start(ctx, loadgen.Options{URL: "http://" + d.addr + "/", Workers: 2})
	time.Sleep(500 * time.Millisecond) // let slow requests be in flight on 1
	if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatalf("flip to 2: %v", err)
	}
	time.Sleep(2 * time.Second) // a revert a few seconds after the bump
	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatalf("flip back to 1: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // slow requests on the new process too
	rs, rf := slow.Stop(), fast.Stop()
	t.Logf("slow: %s %v; fast: %s", rs, rs.Bodies, rf)
	if rs.Failed+rf.Failed != 0 {
		t.Errorf("failed requests: slow %d (%v), fast %d (%v), want 0", rs.Failed, rs.Errors, rf.Failed, rf.Errors)
	}
	if rs.OK < 9 || rf.OK < 100 {
		t.Errorf("got %d slow and %d fast answers, want a real load", rs.OK, rf.OK)
	}
	if got, _ := d.get("/"); !strings.HasPrefix(got, "exampleapp 1:") {
		t.Errorf("after both flips the app answers %q, want version 1", got)
	}
}
