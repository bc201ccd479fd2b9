package reconcile

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"golang.org/x/sys/unix"
)

// A request hands a person's command (sync, resume, retry) to the agent
// that holds the directory's lock, as a retry request and a suspension do:
// a file of its own in .reconciler/requests/, written atomically by the
// command, taken by the next pass of whoever holds the lock (the agent
// polls at once when its request watcher sees one), and answered with a
// file beside it that the command waits for.
//
//	requests/agent        the pid of the agent that takes requests
//	requests/ID.request   a Request, removed by the pass that takes it
//	requests/ID.answer    that pass's Answer, removed by the command
//
// A pass that is stopped (its context cancelled) answers nothing: the
// command sees the lock come free without an answer and does its own pass.
// Answers nobody read are removed after answerTTL.

// Request is what a command asks of the agent's next pass.
type Request struct {
	ID            string    `json:"id"`
	From          string    `json:"from"` // the command, for the log: "sync", "resume", "retry"
	IgnoreWindows bool      `json:"ignore_windows,omitempty"`
	Time          time.Time `json:"time"`
}

// Answer is the outcome of the pass that took a Request.
type Answer struct {
	Result  string    `json:"result"` // one of the Poll* constants
	Rev     string    `json:"rev,omitempty"`
	Version string    `json:"version,omitempty"`
	Error   string    `json:"error,omitempty"` // the pass's error; "" when it did what it had to
	Opens   time.Time `json:"opens,omitzero"`  // a deferred pass: when the windows open
	PID     int       `json:"pid"`             // the agent's
}

const (
	requestExt = ".request"
	answerExt  = ".answer"
	answerTTL  = time.Hour
)

// requestsDir is where requests and answers live.
func (l Layout) requestsDir() string { return filepath.Join(l.StateDir(), "requests") }

func (l Layout) agentFile() string { return filepath.Join(l.requestsDir(), "agent") }

func (l Layout) requestFile(id string) string { return filepath.Join(l.requestsDir(), id+requestExt) }

func (l Layout) answerFile(id string) string { return filepath.Join(l.requestsDir(), id+answerExt) }

// announceAgent records that this process, which holds the lock, takes
// requests. The record may outlive the process; RunningAgent believes it
// only while the process named holds the lock.
func (l Layout) announceAgent() error {
	if err := os.MkdirAll(l.requestsDir(), 0o700); err != nil {
		return fmt.Errorf("requests: %w", err)
	}
	return artifacts.WriteFileAtomic(l.agentFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// RunningAgent returns the pid of the agent that takes requests for the
// directory: the process that holds its lock, if it announced itself.
// Another holder (a `sync` or a `watch`) takes no requests: ok false.
//
// It asks the kernel by trying a shared lock: when nobody holds the lock,
// the probe holds it for an instant, and a reconciler taking it in that
// instant is refused as "another reconciler" (a person's command racing
// another person's, or an agent starting: systemd starts it again).
func (l Layout) RunningAgent() (pid int, ok bool) {
	f, err := os.Open(l.lockFile())
	if err != nil {
		return 0, false // no lock file: nobody ever held it
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return 0, false // free: nobody holds it
	}
	holder, err := strconv.Atoi(readHolder(f))
	if err != nil {
		return 0, false
	}
	data, err := os.ReadFile(l.agentFile())
	if err != nil {
		return 0, false
	}
	if agent, err := strconv.Atoi(strings.TrimSpace(string(data))); err != nil || agent != holder {
		return 0, false
	}
	return holder, true
}

// HandOver writes r (with a new ID and the time) for the agent's next
// pass and returns it.
func (l Layout) HandOver(r Request) (Request, error) {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	r.ID, r.Time = hex.EncodeToString(b[:]), time.Now().UTC()
	data, _ := json.Marshal(r) // strings, a bool and a time: cannot fail
	if err := os.MkdirAll(l.requestsDir(), 0o700); err != nil {
		return r, fmt.Errorf("hand over to the agent: %w", err)
	}
	if err := artifacts.WriteFileAtomic(l.requestFile(r.ID), append(data, '\n'), 0o600); err != nil {
		return r, fmt.Errorf("hand over to the agent: %w", err)
	}
	return r, nil
}

// AnswerTo returns the answer to the request id, ok false while there is
// none. A found answer is removed: it is read once.
func (l Layout) AnswerTo(id string) (Answer, bool, error) {
	data, err := os.ReadFile(l.answerFile(id))
	if errors.Is(err, os.ErrNotExist) {
		return Answer{}, false, nil
	}
	if err != nil {
		return Answer{}, false, fmt.Errorf("read the agent's answer: %w", err)
	}
	var a Answer
	if err := json.Unmarshal(data, &a); err != nil {
		return Answer{}, false, fmt.Errorf("read the agent's answer %s: %w", l.answerFile(id), err)
	}
	_ = os.Remove(l.answerFile(id))
	return a, true, nil
}

// Waiting reports whether the request id still waits for a pass.
func (l Layout) Waiting(id string) bool {
	_, err := os.Stat(l.requestFile(id))
	return err == nil
}

// Withdraw removes the request id and its answer, if any. It reports
// whether the request was still waiting (not taken by a pass).
func (l Layout) Withdraw(id string) bool {
	err := os.Remove(l.requestFile(id))
	_ = os.Remove(l.answerFile(id))
	return err == nil
}

// takeRequests takes the requests waiting for a pass (removing them) and
// removes answers older than answerTTL that nobody read. A request that
// cannot be read is dropped: its command times out.
func (l Layout) takeRequests(now time.Time) []Request {
	entries, err := os.ReadDir(l.requestsDir())
	if err != nil {
		return nil
	}
	var reqs []Request
	for _, e := range entries {
		p := filepath.Join(l.requestsDir(), e.Name())
		switch {
		case strings.HasSuffix(e.Name(), requestExt):
			data, err := os.ReadFile(p)
			_ = os.Remove(p)
			var r Request
			if err == nil && json.Unmarshal(data, &r) == nil && r.ID+requestExt == e.Name() {
				reqs = append(reqs, r)
			}
		case strings.HasSuffix(e.Name(), answerExt):
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > answerTTL {
				_ = os.Remove(p)
			}
		}
	}
	return reqs
}

// answer writes the outcome of the pass for each request it took.
func (l Layout) answer(reqs []Request, out Outcome, err error) {
	if len(reqs) == 0 {
		return
	}
	a := Answer{Result: out.Result, Rev: out.Rev, Version: out.Version, Opens: out.Opens, PID: os.Getpid()}
	if err != nil {
		a.Error = err.Error()
	}
	data, _ := json.Marshal(a) // strings and times: cannot fail
	for _, r := range reqs {
		_ = artifacts.WriteFileAtomic(l.answerFile(r.ID), append(data, '\n'), 0o600) // unanswered: the command times out
	}
}

// takeRequests takes the requests waiting for this pass and logs them; one
// that asks for it makes this pass ignore the deploy windows (sync
// --ignore-windows) and the next not.
func (e *Engine) takeRequests() []Request {
	reqs := e.Layout.takeRequests(time.Now())
	ignore := false
	for _, r := range reqs {
		e.log().Info("request from `reconciler "+r.From+"`", "request", r.ID, "ignore_windows", r.IgnoreWindows)
		ignore = ignore || r.IgnoreWindows
	}
	e.ignoreOnce = ignore
	return reqs
}
