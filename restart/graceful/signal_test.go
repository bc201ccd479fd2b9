package graceful

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// fakeUpgrader answers Upgrade with errs in turn; its parent exits at
// parentExit (fake time), or never if zero.
type fakeUpgrader struct {
	mu         sync.Mutex
	errs       []error
	calls      int
	parentExit time.Time
}

func (f *fakeUpgrader) Upgrade() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.errs[f.calls]
	f.calls++
	return err
}

func (f *fakeUpgrader) WaitForParent(ctx context.Context) error {
	if f.parentExit.IsZero() {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTimer(time.Until(f.parentExit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeUpgrader) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// syncBuffer is a log sink the loop goroutine and the test share.
type syncBuffer = testkit.SyncBuffer

var errParent = errors.New(errParentAlive)

func TestUpgradeOnSignal(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error       // Upgrade's answers, in turn
		parent    time.Duration // when the predecessor exits; 0: never
		wantCalls int
		wantLog   []string
	}{
		{
			name: "upgrade done", errs: []error{nil}, wantCalls: 1,
			wantLog: []string{`msg="upgrade done, new process ready"`},
		},
		{
			name: "new binary fails", errs: []error{errors.New("can't start child: exec format error")}, wantCalls: 1,
			wantLog: []string{`msg="upgrade failed, still serving" err="can't start child: exec format error"`},
		},
		{
			name: "waits for a draining predecessor", errs: []error{errParent, nil}, parent: 3 * time.Second, wantCalls: 2,
			wantLog: []string{`msg="upgrade waits for the previous process to exit"`, `msg="upgrade done, new process ready" took=3.001s`},
		},
		{
			name: "predecessor gone, tableflip not told yet", errs: []error{errParent, errParent, nil}, parent: time.Nanosecond, wantCalls: 3,
			wantLog: []string{`msg="upgrade done, new process ready"`},
		},
		{
			name: "predecessor never exits", errs: []error{errParent}, wantCalls: 1,
			wantLog: []string{`msg="upgrade failed, still serving" err="parent hasn't exited; waiting for it: context deadline exceeded"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				upg := &fakeUpgrader{errs: tt.errs}
				if tt.parent > 0 {
					upg.parentExit = time.Now().Add(tt.parent)
				}
				var logs syncBuffer
				sigs := make(chan os.Signal, 1)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					upgradeOnSignal(ctx, sigs, upg, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
				}()
				sigs <- syscall.SIGHUP
				time.Sleep(2 * time.Minute) // fake time: past every wait
				synctest.Wait()
				cancel()
				<-done
				if got := upg.callCount(); got != tt.wantCalls {
					t.Errorf("Upgrade calls: got %d, want %d", got, tt.wantCalls)
				}
				for _, want := range tt.wantLog {
					if !strings.Contains(logs.String(), want) {
						t.Errorf("log: got\n%s\nwant a line with %s", logs.String(), want)
					}
				}
			})
		})
	}
}

func TestUpgradeOnSignalKeepsServingAfterFailures(t *testing.T) {
	upg := &fakeUpgrader{errs: []error{errors.New("child exited: exit status 1"), errors.New("already upgraded"), nil}}
	sigs := make(chan os.Signal) // unbuffered: a send returns once the loop took it
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		upgradeOnSignal(ctx, sigs, upg, time.Minute, slog.New(slog.DiscardHandler))
	}()
	for range upg.errs {
		sigs <- syscall.SIGHUP
	}
	cancel()
	<-done
	if got := upg.callCount(); got != 3 {
		t.Errorf("Upgrade calls: got %d, want 3: a failure must not end the loop", got)
	}
}
