package reconcile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// fakeRepo is the deploy repo at one commit, at reconcile's seam.
type fakeRepo struct {
	head    string
	headErr error
	files   map[string]string
}

func (r *fakeRepo) Head(context.Context) (string, error) { return r.head, r.headErr }
func (r *fakeRepo) Fetch(_ context.Context, want string) (string, error) {
	return want, nil
}
func (r *fakeRepo) ReadFile(_ context.Context, _, path string) ([]byte, error) {
	d, ok := r.files[path]
	if !ok {
		return nil, os.ErrNotExist
	}
	return []byte(d), nil
}
func (r *fakeRepo) OpenFile(ctx context.Context, rev, path string) (io.ReadCloser, int64, error) {
	d, err := r.ReadFile(ctx, rev, path)
	return io.NopCloser(bytes.NewReader(d)), int64(len(d)), err
}

// fakeSwitcher makes the links as the real one does and answers Switch
// with err.
type fakeSwitcher struct {
	dir      string
	err      error
	switches int
	// linkFirst: Switch moves app.bin before it answers err (a stop
	// after the links moved).
	linkFirst bool
	judges    int   // calls of Judge
	judgeErr  error // Judge's answer
	scans     int   // calls of Running: a scan of /proc each, for the real one
}

func (s *fakeSwitcher) Switch(_ context.Context, to appdir.Target) error {
	s.switches++
	if s.err != nil && !s.linkFirst {
		return s.err
	}
	os.Remove(filepath.Join(s.dir, "app.bin"))
	if err := os.Symlink(to.Bin, filepath.Join(s.dir, "app.bin")); err != nil {
		return err
	}
	return s.err
}
func (s *fakeSwitcher) Judge(_ context.Context, to, _ appdir.Target) error {
	s.judges++
	if s.judgeErr != nil {
		return s.judgeErr
	}
	os.Remove(filepath.Join(s.dir, "app.bin"))
	return os.Symlink(to.Bin, filepath.Join(s.dir, "app.bin"))
}
func (s *fakeSwitcher) Check(string) error { return nil }
func (s *fakeSwitcher) Running(bin string) (int, bool) {
	s.scans++
	t, _ := os.Readlink(filepath.Join(s.dir, "app.bin"))
	return 42, t == bin
}
func (s *fakeSwitcher) Describe() string { return "fake" }

type unhealthy struct{}

func (unhealthy) Error() string   { return "did not come up" }
func (unhealthy) Unhealthy() bool { return true }

const head1 = "1111111111111111111111111111111111111111"

// TestPassSteps drives Sync through each step's way of ending a pass, with
// fakes at the seams (the real git, download and switch are tested against
// real servers and processes in their packages and in cmd/reconciler).
func TestPassSteps(t *testing.T) {
	good := `{"version": "1.0", "bin": {"path": "bin/app"}}`
	for _, tc := range []struct {
		name       string
		desired    string
		headErr    error
		failed     bool  // the head failed before
		suspended  bool  //
		switchErr  error //
		twice      bool  // sync twice, judge the second
		wantResult string
		wantErr    error // errors.Is; nil: no error
		wantFailed bool  // the head is recorded failed afterwards
	}{
		{name: "git host down", desired: good, headErr: errors.New("dial: refused"), wantResult: PollError, wantErr: errAny},
		{name: "failed head skipped", desired: good, failed: true, wantResult: PollSkipped, wantErr: errFailedRevision, wantFailed: true},
		{name: "bad desired file", desired: `{"version": "1.0"}`, wantResult: PollError, wantErr: ErrInvalidDesired},
		{name: "suspended", desired: good, suspended: true, wantResult: PollSuspended, wantErr: errSuspended},
		{name: "applied", desired: good, wantResult: PollApplied},
		{name: "in sync", desired: good, twice: true, wantResult: PollUnchanged},
		{name: "unhealthy recorded failed", desired: good, switchErr: unhealthy{}, wantResult: PollError, wantErr: errAny, wantFailed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Layout{Dir: t.TempDir()}
			os.MkdirAll(l.Release(), 0o755)
			repo := &fakeRepo{head: head1, headErr: tc.headErr, files: map[string]string{"current.conf": tc.desired, "bin/app": "#!/bin/sh\n"}}
			sw := &fakeSwitcher{dir: l.Dir, err: tc.switchErr}
			e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: sw}
			if tc.failed {
				st := State{}
				st.markFailed(Failed{Revision: head1, Version: "1.0", Reason: "earlier"})
				if err := l.saveState(st); err != nil {
					t.Fatal(err)
				}
			}
			if tc.suspended {
				l.Suspend("maintenance", e.now())
			}
			out, err := e.Sync(t.Context())
			if tc.twice {
				out, err = e.Sync(t.Context())
			}
			if out.Result != tc.wantResult {
				t.Errorf("result %q, want %q (err %v)", out.Result, tc.wantResult, err)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("err %v, want none", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Errorf("err %v, want %v", err, tc.wantErr)
			}
			st, _ := l.LoadState()
			if _, failed := st.IsFailed(head1); failed != tc.wantFailed {
				t.Errorf("head recorded failed: %v, want %v", failed, tc.wantFailed)
			}
			if (tc.failed || tc.suspended || tc.headErr != nil) && sw.switches != 0 {
				t.Errorf("%d switches, want none", sw.switches)
			}
		})
	}
}

var errAny = errors.New("any error")
