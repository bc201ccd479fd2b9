package gitsrc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

func newShared(t *testing.T, url string, window time.Duration) *gitsrc.Shared {
	t.Helper()
	s, err := gitsrc.NewShared(gitsrc.Options{URL: url, CacheDir: t.TempDir() + "/cache", Timeout: 10 * time.Second}, window)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// everyone runs f on n Handles of s at once and waits for them.
func everyone(s *gitsrc.Shared, n int, f func(h *gitsrc.Handle) error) ([]*gitsrc.Handle, []error) {
	hs := make([]*gitsrc.Handle, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range hs {
		hs[i] = s.Handle()
		wg.Go(func() {
			<-start
			errs[i] = f(hs[i])
		})
	}
	close(start)
	wg.Wait()
	return hs, errs
}

func sumStats(hs []*gitsrc.Handle) gitsrc.Stats {
	var st gitsrc.Stats
	for _, h := range hs {
		st.RefListings += h.Stats().RefListings
		st.Fetches += h.Stats().Fetches
	}
	return st
}

// TestSharedOneListingOneFetch: ten apps polling at once cost the git host
// one ref listing and, once the branch moved, one fetch; each reads the new
// commit; the Handles' counts add up to what the server saw.
func TestSharedOneListingOneFetch(t *testing.T) {
	t.Parallel()
	r, rev1 := seedRepo(t)
	srv := r.ServeHTTP(t)
	s := newShared(t, srv.URL, gitsrc.ShareWindow)
	heads := make([]string, 10)
	i := 0
	var mu sync.Mutex
	hs, errs := everyone(s, 10, func(h *gitsrc.Handle) error {
		got, err := h.Head(t.Context())
		mu.Lock()
		heads[i] = got
		i++
		mu.Unlock()
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, h := range heads {
		if h != rev1 {
			t.Fatalf("Head: got %.12s, want %.12s", h, rev1)
		}
	}
	if got := srv.Stats().RefListings; got != 1 {
		t.Errorf("ten Heads at once: the server answered %d ref listings, want 1", got)
	}
	if st := sumStats(hs); st.RefListings != 1 {
		t.Errorf("the Handles counted %d ref listings, want 1 (what the server saw)", st.RefListings)
	}

	r.WriteFile("current.conf", []byte("version 2\n"))
	rev2 := r.Commit("version 2")
	s.Invalidate() // a webhook: the branch moved just now
	uploads := srv.Stats().UploadPacks
	_, errs = everyone(s, 10, func(h *gitsrc.Handle) error {
		want, err := h.Head(t.Context())
		if err != nil {
			return err
		}
		got, err := h.Fetch(t.Context(), want)
		if err != nil {
			return err
		}
		data, err := h.ReadFile(t.Context(), got, "current.conf")
		if err == nil && (got != rev2 || string(data) != "version 2\n") {
			err = errors.New("read " + got[:12] + ": " + string(data))
		}
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().UploadPacks - uploads; got != 1 {
		t.Errorf("ten apps after one commit: %d object transfers, want 1", got)
	}
	// The fetch asks for the ref once more, as a single app's fetch does.
	if got := srv.Stats().RefListings; got != 3 {
		t.Errorf("after Invalidate: %d ref listings in all, want 3 (two Heads, one fetch)", got)
	}
}

// TestSharedWindow: a Head within the window reuses the listing, one
// after Invalidate does not, and without a window only a listing under
// way is shared.
func TestSharedWindow(t *testing.T) {
	t.Parallel()
	r, _ := seedRepo(t)
	srv := r.ServeHTTP(t)
	step := func(what string, h *gitsrc.Handle, want int64) {
		t.Helper()
		before := srv.Stats().RefListings
		if _, err := h.Head(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Stats().RefListings - before; got != want {
			t.Errorf("%s: %d ref listings, want %d", what, got, want)
		}
	}
	long := newShared(t, srv.URL, time.Hour).Handle()
	step("first Head", long, 1)
	step("Head within the window", long, 0)
	long.Invalidate()
	step("Head after Invalidate", long, 1)
	none := newShared(t, srv.URL, 0).Handle()
	step("first Head without a window", none, 1)
	step("second Head without a window", none, 1)
}

// TestSharedLeaderGoesAway: the app whose Head lists refs is stopped while
// the server has not answered yet; another app waiting for the same
// listing gets an answer of its own, not the first one's cancellation.
func TestSharedLeaderGoesAway(t *testing.T) {
	t.Parallel()
	r, rev := seedRepo(t)
	git := r.ServeHTTP(t)
	arrived := make(chan struct{})
	var once sync.Once
	var first sync.Mutex
	held := true
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		first.Lock()
		hold := held
		held = false
		first.Unlock()
		if hold { // the first request: until its client gives up
			once.Do(func() { close(arrived) })
			<-req.Context().Done()
			return
		}
		proxyTo(git.URL, w, req)
	}))
	t.Cleanup(front.Close)
	s := newShared(t, front.URL+"/deploy", gitsrc.ShareWindow)
	leaderCtx, stop := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() { _, err := s.Handle().Head(leaderCtx); leaderErr <- err }()
	<-arrived
	follower := make(chan error, 1)
	var got string
	go func() {
		var err error
		got, err = s.Handle().Head(t.Context())
		follower <- err
	}()
	stop()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the stopped app's Head: got %v, want context.Canceled", err)
	}
	if err := <-follower; err != nil || got != rev {
		t.Errorf("the other app's Head: got %.12s, %v; want %.12s", got, err, rev)
	}
}

// proxyTo forwards req to the git server at base (a repository URL).
func proxyTo(base string, w http.ResponseWriter, req *http.Request) {
	u := strings.TrimSuffix(base, "/deploy") + req.URL.Path
	if req.URL.RawQuery != "" {
		u += "?" + req.URL.RawQuery
	}
	body, _ := io.ReadAll(req.Body)
	out, _ := http.NewRequestWithContext(req.Context(), req.Method, u, bytes.NewReader(body))
	out.Header = req.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// TestSharedStreamHoldsTheCache: an open stream keeps the cache (go-git's
// storage is not safe for concurrent use); other apps wait, their context
// bounding the wait, and go on once it is closed. Run with -race.
func TestSharedStreamHoldsTheCache(t *testing.T) {
	t.Parallel()
	r, rev := seedRepo(t)
	s := newShared(t, r.URL(), gitsrc.ShareWindow)
	a, b := s.Handle(), s.Handle()
	if _, err := a.Fetch(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	rc, _, err := a.OpenFile(t.Context(), rev, "web/cfg.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.ReadFile(ctx, rev, "current.conf"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadFile while another app streams: got %v, want it to wait until its deadline", err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	rc.Close() // twice is harmless
	if string(data) != `{"port": 8080}` {
		t.Errorf("stream: got %q", data)
	}
	_, errs := everyone(s, 8, func(h *gitsrc.Handle) error {
		if _, err := h.ReadFile(t.Context(), rev, "current.conf"); err != nil {
			return err
		}
		rc, _, err := h.OpenFile(t.Context(), rev, "web/cfg.json")
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

// TestFollowerTakesTheEnginesListing: a Follower (the agent's updater,
// looking after each poll of the app) answers with the listing the
// engine's poll just made, costing the git host nothing, and lists itself
// only when no listing ended since its last look, or after an Invalidate.
func TestFollowerTakesTheEnginesListing(t *testing.T) {
	t.Parallel()
	r, rev1 := seedRepo(t)
	srv := r.ServeHTTP(t)
	s := newShared(t, srv.URL, 0) // run --dir: the engine's own polls share nothing
	eng, fol := s.Handle(), s.Follower()
	listings := func() int64 { return srv.Stats().RefListings }
	head := func(h *gitsrc.Handle, want string, wantListings int64) {
		t.Helper()
		got, err := h.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != want || listings() != wantListings {
			t.Fatalf("Head: got %.12s after %d listings, want %.12s after %d", got, listings(), want, wantListings)
		}
	}
	for i := range int64(5) { // five polls of the app, each followed by a look of the updater
		head(eng, rev1, i+1)
		head(fol, rev1, i+1)
	}
	head(fol, rev1, 6) // no poll of the app since its last look: it lists
	r.WriteFile("agent.conf", []byte("2"))
	rev2 := r.Commit("agent 2")
	head(eng, rev2, 7)
	head(fol, rev2, 7) // the move the app's poll saw, at once
	head(eng, rev2, 8)
	s.Invalidate() // someone asked for a poll: the branch may have moved since the engine's listing
	head(fol, rev2, 9)
	if got := fol.Stats().RefListings; got != 2 {
		t.Errorf("follower's own listings: got %d, want 2", got)
	}
}
