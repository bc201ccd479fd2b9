package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// countingStore is a real artifact server that counts requests and bytes.
type countingStore struct {
	*httptest.Server
	requests, bytes atomic.Int64
}

func newCountingStore(t *testing.T, body []byte) *countingStore {
	s := &countingStore{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		n, _ := w.Write(body)
		s.bytes.Add(int64(n))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestAgentWrongDigestDownloadsOnce: a commit that pins the wrong sha256
// costs one download on a real agent polling every second, not one per
// poll: 10+ polls and a restart of the agent later the artifact store has
// served it once, the bytes count as refused, every poll reports the
// refusal (the URL, both digests) as needing a person, and the app keeps
// serving; the commit that fixes the pin deploys at the next poll.
func TestAgentWrongDigestDownloadsOnce(t *testing.T) {
	t.Parallel()
	a := startAgentOn1(t)
	args := a.cmd.Args[2:] // after the binary and "run": the same flags again
	bin := exampleApp(t, "2")
	store := newCountingStore(t, bin)
	url, wrong := store.URL+"/app-2", strings.Repeat("0f", 32)
	pin := func(sum string) string {
		a.d.WriteFile("web/cfg-2.json", []byte(fmt.Sprintf(`{"listen": %q, "message": "release 2"}`, a.addr)))
		a.d.WriteFile("web/current.conf", []byte(fmt.Sprintf(
			`{"version": "2", "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "web/cfg-2.json"}}`, url, sum)))
		return a.d.Commit("app 2, pinned " + sum[:8])
	}
	errorPolls := func() float64 { return a.metric(t, `reconciler_polls_total{result="error"}`) }
	pin(wrong)
	waitFor(t, "11 polls of the wrong pin", func() bool { return errorPolls() >= 11 })
	if n := store.requests.Load(); n != 1 {
		t.Errorf("the artifact store served %d requests over 11 polls, want 1", n)
	}
	if v := a.metric(t, `reconciler_downloaded_bytes_total{result="refused"}`); v != float64(len(bin)) {
		t.Errorf(`downloaded_bytes_total{result="refused"} = %v, want %d`, v, len(bin))
	}
	st := a.status(t)
	if st.LastError == nil || st.LastError.Class != reconcile.ClassNeedsPerson {
		t.Fatalf("last error %+v, want the refusal, needing a person", st.LastError)
	}
	for _, s := range []string{url, sha(bin), wrong} {
		if !strings.Contains(st.LastError.Message, s) {
			t.Errorf("last error %q does not name %s", st.LastError.Message, s)
		}
	}
	if !a.answers("1")() {
		t.Errorf("with the wrong pin the app answers %q, want 1", testkit.Answer(a.addr))
	}

	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v", err)
	}
	a.agentProc = startAgent(t, args...)
	a.listen = args[indexOf(args, "--listen")+1]
	waitFor(t, "the restarted agent to listen", func() bool {
		resp, err := http.Get("http://" + a.listen + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	waitFor(t, "3 polls of the restarted agent", func() bool { return errorPolls() >= 3 })
	if n := store.requests.Load(); n != 1 {
		t.Errorf("after a restart of the agent the store served %d requests, want still 1", n)
	}

	polls := errorPolls()
	fix := pin(sha(bin))
	waitFor(t, "the fixing commit to deploy", a.answers("2"))
	waitFor(t, "the fixing commit's pass to end", func() bool {
		st := a.status(t)
		return st.Applied != nil && st.Applied.Revision == fix
	})
	if after := errorPolls(); after > polls+1 {
		t.Errorf("the fixing commit deployed after %v more failed polls, want at most the one under way", after-polls)
	}
	if n, b := store.requests.Load(), store.bytes.Load(); n != 2 || b != 2*int64(len(bin)) {
		t.Errorf("the store served %d requests, %d bytes in all, want 2 and %d", n, b, 2*len(bin))
	}
	if v := a.metric(t, `reconciler_downloaded_bytes_total{result="ok"}`); v < float64(len(bin)) {
		t.Errorf(`downloaded_bytes_total{result="ok"} = %v, want at least %d`, v, len(bin))
	}
}

// TestSyncRetryForgetsRefusedDownload: `sync` remembers a refused download
// (a second sync reports it without a request to the store), and `retry`
// names it and makes the next sync download it again: for a store that
// served the wrong file and now serves the right one.
func TestSyncRetryForgetsRefusedDownload(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	dir := t.TempDir()
	d.release("2.0")
	d.art.setFault("/web-2.0", "corrupt")
	for i := range 2 {
		if _, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...); code == 0 || !strings.Contains(errOut, "sha256 mismatch") {
			t.Fatalf("sync %d of a corrupt artifact: exit %d, %s", i, code, errOut)
		}
	}
	if n := d.art.hitCount("/web-2.0"); n != 1 {
		t.Errorf("two syncs made %d requests for the refused artifact, want 1", n)
	}
	out, errOut, code := runCLI(t, "retry", "--dir", dir)
	if code != 0 || !strings.Contains(out, "/web-2.0") {
		t.Fatalf("retry: exit %d, %s%s; want it to name the refused download", code, out, errOut)
	}
	d.art.setFault("/web-2.0", "")
	if _, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...); code != 0 {
		t.Fatalf("sync after retry, the store fixed: exit %d, %s", code, errOut)
	}
	if n := d.art.hitCount("/web-2.0"); n != 2 {
		t.Errorf("after retry %d requests in all, want 2", n)
	}
}
