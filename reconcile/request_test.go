package reconcile

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestRunningAgent: an agent is the lock's holder that announced itself;
// a holder that did not (a sync, a watch) or a record without a holder
// (an agent that died) is none.
func TestRunningAgent(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	if _, ok := l.RunningAgent(); ok {
		t.Fatal("an agent in an empty directory")
	}
	lock, err := l.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.RunningAgent(); ok {
		t.Error("a holder that did not announce itself taken for an agent")
	}
	if err := l.announceAgent(); err != nil {
		t.Fatal(err)
	}
	if pid, ok := l.RunningAgent(); !ok || pid != os.Getpid() {
		t.Errorf("got %d %v, want this process", pid, ok)
	}
	lock.Unlock()
	if _, ok := l.RunningAgent(); ok {
		t.Error("an agent that let go of the lock is still taken for one")
	}
	lock, err = l.Lock() // the probe left the lock free
	if err != nil {
		t.Fatalf("lock after probing: %v", err)
	}
	lock.Unlock()
}

// TestRequestRoundTrip: a pass takes the requests waiting, answers each
// once, drops answers nobody read after answerTTL; a withdrawn request is
// not taken.
func TestRequestRoundTrip(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	r1, err := l.HandOver(Request{From: "sync", IgnoreWindows: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := l.HandOver(Request{From: "resume"})
	r3, _ := l.HandOver(Request{From: "retry"})
	if !l.Withdraw(r3.ID) {
		t.Error("withdrawing a waiting request: got false")
	}
	reqs := l.takeRequests(time.Now())
	if len(reqs) != 2 || reqs[0].ID == reqs[1].ID {
		t.Fatalf("took %+v, want the two requests", reqs)
	}
	if again := l.takeRequests(time.Now()); len(again) != 0 {
		t.Errorf("took %+v again", again)
	}
	if _, ok, _ := l.AnswerTo(r1.ID); ok {
		t.Error("an answer before the pass")
	}
	l.answer(reqs, Outcome{Result: PollError, Rev: "abc", Version: "2"}, errors.New("boom"))
	a, ok, err := l.AnswerTo(r1.ID)
	if !ok || err != nil || a.Error != "boom" || a.Version != "2" || a.PID != os.Getpid() {
		t.Errorf("answer: %+v %v %v", a, ok, err)
	}
	if _, ok, _ := l.AnswerTo(r1.ID); ok {
		t.Error("an answer read twice")
	}
	l.takeRequests(time.Now().Add(answerTTL + time.Minute)) // r2's answer, unread, expires
	if _, ok, _ := l.AnswerTo(r2.ID); ok {
		t.Error("an unread answer outlived answerTTL")
	}
}
