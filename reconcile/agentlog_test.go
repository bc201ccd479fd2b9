package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// scriptedRevs answers each Sync with the next revision of a script and
// the error err there, or no error past the script's end.
type scriptedRevs struct {
	mu   sync.Mutex
	revs []string
	err  error
}

func (s *scriptedRevs) Sync(context.Context) (Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.revs) == 0 {
		return Outcome{Result: PollUnchanged}, nil
	}
	rev := s.revs[0]
	s.revs = s.revs[1:]
	if rev == "" { // a good pass between failures
		return Outcome{Result: PollUnchanged, Rev: rev}, nil
	}
	return Outcome{Result: PollError, Rev: rev, Class: Classify(s.err)}, s.err
}

func (s *scriptedRevs) ApplyLocal(context.Context) error { return nil }
func (s *scriptedRevs) LocalInSync() bool                { return true }
func (s *scriptedRevs) Suspended() bool                  { return false }
func (s *scriptedRevs) AppExited(context.Context, AppExit) (time.Duration, bool) {
	return 0, false
}
func (s *scriptedRevs) RestartApp(context.Context) error { return nil }

// levelLog records "LEVEL message rev" of each record.
type levelLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *levelLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *levelLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *levelLog) WithGroup(string) slog.Handler            { return l }
func (l *levelLog) Handle(_ context.Context, r slog.Record) error {
	rev := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "rev" {
			rev = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.HasPrefix(r.Message, "poll failed") {
		l.lines = append(l.lines, fmt.Sprintf("%s %s", r.Level, rev))
	}
	return nil
}

// TestAgentLogsNeedsPersonOncePerRevision: an error that needs a person is
// logged at ERROR at its first poll of a revision, then lower while the
// polls find it again; another revision, or the same one after a good
// pass, is logged at ERROR again.
func TestAgentLogsNeedsPersonOncePerRevision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
		f := &scriptedRevs{revs: []string{a, a, a, b, b, "", b}, err: fmt.Errorf("%w: \"bin\" is required", ErrInvalidDesired)}
		logs := &levelLog{}
		agent := NewAgent(f, every(t, "@every 10s"), slog.New(logs))
		runAgent(agent, 65*time.Second)
		logs.mu.Lock()
		defer logs.mu.Unlock()
		want := []string{"ERROR " + short(a), "DEBUG " + short(a), "DEBUG " + short(a), "ERROR " + short(b), "DEBUG " + short(b), "ERROR " + short(b)}
		if strings.Join(logs.lines, ", ") != strings.Join(want, ", ") {
			t.Errorf("got log levels %q, want %q", logs.lines, want)
		}
	})
}
