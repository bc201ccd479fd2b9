package graceful

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
)

// Run serves opts.Handler on opts.Addr, on a socket inherited from the
// process it replaces or opened anew, until either a newer process has
// taken over (after a SIGHUP) or ctx is done. In both cases it stops
// accepting, waits until every accepted request has been answered and
// returns nil, or an error if Options.DrainTimeout cut some; the caller
// should then exit. A failed upgrade is logged and serving goes on. Run may
// be called once per process.
func Run(ctx context.Context, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	// SIGHUP is caught from now until Run returns: one that reaches a
	// process still starting, or draining, must not kill it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP)
	defer signal.Stop(sigs)
	upg, err := tableflip.New(tableflip.Options{PIDFile: opts.PIDFile, UpgradeTimeout: opts.UpgradeTimeout})
	if err != nil {
		return fmt.Errorf("graceful: start upgrader: %w", err)
	}
	defer upg.Stop()
	ln, err := upg.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("graceful: listen on %s: %w", opts.Addr, err)
	}
	s := newServer(ctx, ln, opts.Handler, opts.Log)
	go s.serve()

	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		upgradeOnSignal(loopCtx, sigs, upg, opts.UpgradeTimeout, opts.Log)
	}()
	defer func() {
		upg.Stop() // interrupts an upgrade in progress
		stopLoop()
		<-loopDone
	}()
	return serveUntilDone(ctx, upg, s, opts)
}

// serveUntilDone reports ready, waits for a successor, a stop or a failure,
// and drains.
func serveUntilDone(ctx context.Context, upg *tableflip.Upgrader, s *server, opts Options) error {
	if err := upg.Ready(); err != nil {
		return errors.Join(fmt.Errorf("graceful: report ready: %w", err), drainNow(ctx, s, opts))
	}
	opts.Log.Info("serving", "addr", s.ln.Addr().String(), "inherited", upg.HasParent())
	opts.Ready()

	final := false
	select {
	case <-upg.Exit():
		opts.Log.Info("new process ready, handing over")
	case <-ctx.Done():
		opts.Log.Info("stopping")
		upg.Stop()
		final = true
	case <-s.done:
		upg.Stop()
		return errors.Join(fmt.Errorf("graceful: serve on %s: %w", opts.Addr, s.err), drainNow(ctx, s, opts))
	}
	err := drain(ctx, s, opts)
	if final && opts.PIDFile != "" {
		err = errors.Join(err, removeOwnPIDFile(opts.PIDFile))
	}
	return err
}

// drain hands s over within opts.DrainTimeout, even if ctx is already done.
func drain(ctx context.Context, s *server, opts Options) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.DrainTimeout)
	defer cancel()
	start := time.Now()
	_, conns, _ := s.conns.open()
	if err := s.drain(dctx, opts.IdleGrace); err != nil {
		opts.Log.Warn("drain cut connections", "conns", conns, "took", time.Since(start).Round(time.Millisecond), "err", err)
		return fmt.Errorf("graceful: drain: %w", err)
	}
	opts.Log.Info("drained", "conns", conns, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// drainNow drains after a failure: no grace for idle connections.
func drainNow(ctx context.Context, s *server, opts Options) error {
	opts.IdleGrace = 0
	return drain(ctx, s, opts)
}

// removeOwnPIDFile removes path if it still names this process, so a final
// stop does not leave a stale pid behind, nor remove a successor's.
func removeOwnPIDFile(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pid file: %w", err)
	}
	if string(bytes.TrimSpace(b)) != strconv.Itoa(os.Getpid()) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}
