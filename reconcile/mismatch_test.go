package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/reconciler-dev/reconciler/artifacts"
)

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestWrongDigestDownloadedOncePerRevision: a URL artifact whose bytes do
// not match its pin is downloaded once at a revision (a real HTTP server
// counts), then refused from memory at every pass, by a new engine too (the
// memory is in state.json), as an error that needs a person and names the
// URL and both digests; its bytes count as refused. The commit that fixes
// the pin deploys at its first pass; `retry` forgets the refusal too.
func TestWrongDigestDownloadedOncePerRevision(t *testing.T) {
	body := []byte("#!/bin/sh\necho 1\n" + strings.Repeat("x", 4096))
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	wrong := strings.Repeat("ab", 32)
	desired := func(sum string) string {
		return `{"version": "1.0", "bin": {"url": "` + srv.URL + `/app", "sha256": "` + sum + `"}}`
	}
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	repo := &fakeRepo{head: head1, files: map[string]string{"current.conf": desired(wrong)}}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, nil)
	engine := func() *Engine {
		return &Engine{Layout: l, Path: "current.conf", Repo: repo, Download: &artifacts.Fetcher{},
			Switcher: &fakeSwitcher{dir: l.Dir}, Metrics: m}
	}
	e := engine()
	var first string
	for i := range 4 {
		if i == 2 {
			e = engine() // an agent restarted: the memory is on disk
		}
		out, err := e.Sync(t.Context())
		if !errors.Is(err, artifacts.ErrDigestMismatch) || out.Class != ClassNeedsPerson {
			t.Fatalf("pass %d: got %v (class %q), want a sha256 mismatch that needs a person", i, err, out.Class)
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Errorf("pass %d says %q, pass 0 said %q: want one error, told once", i, err, first)
		}
		for _, s := range []string{srv.URL + "/app", hexSum(body), wrong} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("pass %d: error %q does not name %s", i, err, s)
			}
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the artifact was downloaded %d times over 4 passes at one revision, want 1", n)
	}
	refused := counterValue(t, m.downloaded.WithLabelValues(downloadRefused))
	if refused != float64(len(body)) {
		t.Errorf(`downloaded_bytes{result="refused"} = %v, want %d`, refused, len(body))
	}

	if err := l.RequestRetry(head1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Sync(t.Context()); !errors.Is(err, artifacts.ErrDigestMismatch) || hits.Load() != 2 {
		t.Errorf("after retry: %v and %d downloads, want the artifact fetched again (2) and refused", err, hits.Load())
	}

	repo.head, repo.files["current.conf"] = head2, desired(hexSum(body))
	if out, err := e.Sync(t.Context()); err != nil || out.Result != PollApplied {
		t.Fatalf("the fixing commit: %v (%s), want applied", err, out.Result)
	}
	st, _ := l.LoadState()
	if len(st.Mismatches) != 0 {
		t.Errorf("after the branch moved on the state still remembers %+v", st.Mismatches)
	}
	if ok := counterValue(t, m.downloaded.WithLabelValues(downloadOK)); ok != float64(len(body)) {
		t.Errorf(`downloaded_bytes{result="ok"} = %v, want %d`, ok, len(body))
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
