package promote_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/promote"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// fakeRepo is a branch's history, newest first, that Open hands out
// shortened to the depth asked for; pushes are refused while reject > 0,
// and each refusal lets a second writer's commit land first.
type fakeRepo struct {
	revs    []promote.Rev
	opens   []int // the depths asked for
	reject  int
	pushed  []string // the files pushed
	onStale func(r *fakeRepo)
}

func (r *fakeRepo) Open(_ context.Context, depth int) (promote.Branch, error) {
	r.opens = append(r.opens, depth)
	revs := r.revs
	if depth > 0 && depth < len(revs) {
		revs = revs[:depth]
	}
	return &fakeBranch{r: r, revs: revs, shallow: len(revs) < len(r.revs)}, nil
}

type fakeBranch struct {
	r       *fakeRepo
	revs    []promote.Rev
	shallow bool
	data    []byte
}

func (b *fakeBranch) Log(_ context.Context, _ string, visit func(promote.Rev) bool) (bool, error) {
	for _, rev := range b.revs {
		if !visit(rev) {
			return false, nil
		}
	}
	return b.shallow, nil
}

func (b *fakeBranch) Commit(_ string, data []byte, _ string) (string, error) {
	b.data = data
	return fmt.Sprintf("rev%d", len(b.r.revs)), nil
}

func (b *fakeBranch) Push(context.Context) error {
	if b.r.reject > 0 {
		b.r.reject--
		if b.r.onStale != nil {
			b.r.onStale(b.r)
		}
		return fmt.Errorf("push: %w", promote.ErrPushRejected)
	}
	b.r.pushed = append(b.r.pushed, string(b.data))
	return nil
}

// history makes revs from files, newest first, one an hour back from now.
func history(t *testing.T, files ...string) []promote.Rev {
	var revs []promote.Rev
	for i, f := range files {
		revs = append(revs, promote.Rev{Hash: fmt.Sprintf("c%d", i), Time: now.Add(-time.Duration(i+1) * time.Hour), Data: []byte(f)})
	}
	return revs
}

func file(t *testing.T, body string) string {
	d := desiredWith(t, body)
	data, err := d.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRunSince: the soak counts from the commit that made the head's
// wave, found however deep it is (the clone is deepened), and other
// changes of the file do not move it.
func TestRunSince(t *testing.T) {
	at10 := file(t, `"percent": 10, `+steps)
	at10more := file(t, `"percent": 10, "max_failed": 3, `+steps)
	at0 := file(t, `"percent": 0, `+steps)
	files := []string{at10more, at10}
	for range 40 {
		files = append(files, at10) // another app's commits: the file unchanged
	}
	files = append(files, at0, at0)
	f := newFakeProm(t)
	f.add(agentsQuery, applied("web-1", 10).series("web-2.0")...)
	c, _ := promote.NewClient(f.srv.URL, nil, 5*time.Second)
	repo := &fakeRepo{revs: history(t, files...)}
	p := &promote.Promoter{Repo: repo, Path: "web/current.conf", Prometheus: c, Now: func() time.Time { return now }}
	res, err := p.Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := now.Add(-42 * time.Hour); !res.Since.Equal(want) {
		t.Errorf("Since: got %s, want %s (the oldest commit at 10%%)", res.Since, want)
	}
	if fmt.Sprint(repo.opens) != "[32 1024]" {
		t.Errorf("depths opened: got %v, want [32 1024]", repo.opens)
	}
	if res.Decision.Action != promote.Advance || len(repo.pushed) != 1 || !strings.Contains(repo.pushed[0], `"percent": 50`) {
		t.Errorf("got %s, pushed %q; want an advance to 50 pushed", res.Decision.Subject(), repo.pushed)
	}
}

// TestRunRejected: a push refused because someone pushed meanwhile is
// read and decided again, on what that someone pushed; a bounded number
// of times.
func TestRunRejected(t *testing.T) {
	f := newFakeProm(t)
	f.add(agentsQuery, applied("web-1", 10).series("web-2.0")...)
	c, _ := promote.NewClient(f.srv.URL, nil, 5*time.Second)

	halted := file(t, `"percent": 10, `+steps+`, "halted": {"reason": "by hand", "time": "2026-03-01T11:59:00Z"}`)
	repo := &fakeRepo{revs: history(t, file(t, `"percent": 10, `+steps)), reject: 1,
		onStale: func(r *fakeRepo) { // a person halts the rollout meanwhile
			r.revs = append([]promote.Rev{{Hash: "theirs", Time: now, Data: []byte(halted)}}, r.revs...)
		}}
	p := &promote.Promoter{Repo: repo, Path: "web/current.conf", Prometheus: c, Now: func() time.Time { return now }}
	res, err := p.Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Attempts != 2 || res.Decision.Action != promote.Hold || res.Head != "theirs" || len(repo.pushed) != 0 {
		t.Errorf("got %d attempts, %s on %s, pushed %d; want 2, hold on theirs, nothing pushed", res.Attempts, res.Decision.Subject(), res.Head, len(repo.pushed))
	}

	repo = &fakeRepo{revs: history(t, file(t, `"percent": 10, `+steps)), reject: 10}
	p = &promote.Promoter{Repo: repo, Path: "web/current.conf", Prometheus: c, Attempts: 4, Now: func() time.Time { return now }}
	_, err = p.Run(t.Context())
	if !errors.Is(err, promote.ErrPushRejected) || len(repo.opens) != 4 {
		t.Errorf("always rejected: got %v after %d opens, want ErrPushRejected after 4", err, len(repo.opens))
	}
}

// TestRunNothingToDo: a file without a rollout, a dry run, a bad file.
func TestRunNothingToDo(t *testing.T) {
	f := newFakeProm(t)
	f.add(agentsQuery, applied("web-1", 10).series("web-2.0")...)
	c, _ := promote.NewClient(f.srv.URL, nil, 5*time.Second)
	plain := desiredWith(t, `"percent": 10`)
	plain.Rollout = nil
	data, _ := plain.MarshalIndent()

	repo := &fakeRepo{revs: history(t, string(data))}
	res, err := (&promote.Promoter{Repo: repo, Path: "web/current.conf", Prometheus: c}).Run(t.Context())
	if err != nil || !res.NoRollout || len(f.asked()) != 0 {
		t.Errorf("no rollout: got %+v, %v, %d queries; want NoRollout and no query", res, err, len(f.asked()))
	}

	repo = &fakeRepo{revs: history(t, file(t, `"percent": 10, `+steps))}
	res, err = (&promote.Promoter{Repo: repo, Path: "web/current.conf", Prometheus: c, DryRun: true, Now: func() time.Time { return now }}).Run(t.Context())
	if err != nil || res.Decision.Action != promote.Advance || res.Rev != "" || len(repo.pushed) != 0 {
		t.Errorf("dry run: got %s, rev %q, %d pushed, %v; want advance, nothing committed", res.Decision.Subject(), res.Rev, len(repo.pushed), err)
	}

	repo = &fakeRepo{revs: history(t, `{"version": "2.0", "bni": {}}`)}
	_, err = (&promote.Promoter{Repo: repo, Path: "web/current.conf", Prometheus: c}).Run(t.Context())
	if !errors.Is(err, reconcile.ErrInvalidDesired) {
		t.Errorf("bad file: got %v, want ErrInvalidDesired", err)
	}
}
