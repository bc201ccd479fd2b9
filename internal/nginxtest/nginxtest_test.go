package nginxtest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/nginxtest"
)

// host is a git host with two repositories (a.git, b.git) behind a
// Tenants front: alice reads a.git, bob reads b.git, carol reads a.git
// with a token of her own; nginx with the cache is in front of it.
type host struct {
	git     *gittest.Handler
	tenants *nginxtest.Tenants
	nginx   *nginxtest.Server
	work    *gittest.Repo // pushes to a.git
	root    string
}

func newHost(t *testing.T, cache bool) *host {
	t.Helper()
	nginxtest.Require(t)
	h := &host{work: gittest.NewRepo(t), root: t.TempDir()}
	h.work.WriteFile("web/current.conf", []byte(`{"version":"1"}`))
	h.work.Commit("1")
	for _, name := range []string{"a.git", "b.git"} {
		h.work.Git("clone", "-q", "--bare", h.work.Dir, filepath.Join(h.root, name))
	}
	var err error
	if h.git, err = gittest.NewHandler(h.root); err != nil {
		t.Fatal(err)
	}
	h.tenants = nginxtest.NewTenants(h.git,
		nginxtest.Tenant{User: "alice", Token: "a-token", Repos: []string{"a.git"}},
		nginxtest.Tenant{User: "bob", Token: "b-token", Repos: []string{"b.git"}},
		nginxtest.Tenant{User: "carol", Token: "c-token", Repos: []string{"a.git"}},
	)
	up := httptest.NewServer(h.tenants)
	t.Cleanup(up.Close)
	h.nginx = nginxtest.New(t, nginxtest.Options{Upstream: strings.TrimPrefix(up.URL, "http://"), Cache: cache})
	return h
}

// source is an agent's git client for user on repo, through nginx.
func (h *host) source(t *testing.T, user, token, repo string) *gitsrc.Source {
	t.Helper()
	u := strings.Replace(h.nginx.URL, "http://", "http://"+user+":"+token+"@", 1) + "/" + repo
	s, err := gitsrc.New(gitsrc.Options{URL: u, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// push commits on the work repo and pushes it to a.git.
func (h *host) push(t *testing.T, version string) string {
	t.Helper()
	h.work.WriteFile("web/current.conf", []byte(`{"version":"`+version+`"}`))
	rev := h.work.Commit(version)
	h.work.Git("push", "-q", filepath.Join(h.root, "a.git"), "main")
	return rev
}

func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCacheServesLsRefs: an agent's identical ls-refs POSTs within the
// cache time are answered by nginx, not git; the answer is the branch's.
func TestCacheServesLsRefs(t *testing.T) {
	h := newHost(t, true)
	src := h.source(t, "alice", "a-token", "a.git")
	want := strings.TrimSpace(h.work.Git("rev-parse", "main"))
	asked := 0
	until(t, "an ls-refs answered by the cache", func() bool {
		head, err := src.Head(t.Context())
		if err != nil || head != want {
			t.Fatalf("Head through the cache: got %q, %v; want %s", head, err, want)
		}
		asked++
		return h.git.Stats().RefListings < int64(asked)
	})
}

// TestCacheNeverServesFetch: fetches of objects always reach git, however
// alike and close together they are; so does a GET of info/refs.
func TestCacheNeverServesFetch(t *testing.T) {
	h := newHost(t, true)
	head := strings.TrimSpace(h.work.Git("rev-parse", "main"))
	before := h.git.Stats()
	const n = 5
	for range n {
		src := h.source(t, "alice", "a-token", "a.git") // a new agent: no objects yet
		got, err := src.Fetch(t.Context(), head)
		if err != nil || got != head {
			t.Fatalf("Fetch through the cache: got %q, %v; want %s", got, err, head)
		}
	}
	after := h.git.Stats()
	if got := after.UploadPacks - before.UploadPacks; got != n {
		t.Errorf("fetches that reached git: got %d, want %d (every one)", got, n)
	}
	if got := after.Adverts - before.Adverts; got < n {
		t.Errorf("GETs of info/refs that reached git: got %d, want at least %d", got, n)
	}
}

// TestCacheKeepsTenantsApart: a credential never gets an answer cached for
// another. While alice's ls-refs answer for a.git is in the cache, the
// same POST (same URL, same body) with bob's credentials (not allowed on
// a.git) reaches git and gets its refusal, not alice's refs; with carol's
// (allowed, her own token) it reaches git too. A round is conclusive only
// if alice's entry was still fresh after bob and carol asked (her second
// POST did not reach git); a slow round is tried again.
func TestCacheKeepsTenantsApart(t *testing.T) {
	h := newHost(t, true)
	alice := h.source(t, "alice", "a-token", "a.git")
	if _, err := alice.Head(t.Context()); err != nil { // records alice's ls-refs body
		t.Fatal(err)
	}
	body := h.lsRefsBody(t)
	round := 0
	until(t, "a round within alice's cache entry", func() bool {
		round++
		if got := h.post(t, "alice", "a-token", body); got != http.StatusOK {
			t.Fatalf("alice's ls-refs: got HTTP %d, want 200", got)
		}
		a1, b, c := h.tenants.Hits("alice"), h.tenants.Hits("bob"), h.tenants.Hits("carol")
		if got := h.post(t, "bob", "b-token", body); got != http.StatusNotFound {
			t.Fatalf("bob's ls-refs of a.git: got HTTP %d, want git's 404 (200 is alice's answer served to bob)", got)
		}
		if h.tenants.Hits("bob") == b {
			t.Fatal("bob's ls-refs did not reach git")
		}
		if got := h.post(t, "carol", "c-token", body); got != http.StatusOK {
			t.Fatalf("carol's ls-refs: got HTTP %d, want 200", got)
		}
		if round == 1 && h.tenants.Hits("carol") == c {
			t.Fatal("carol's first ls-refs did not reach git: served from alice's entry")
		}
		if got := h.post(t, "alice", "a-token", body); got != http.StatusOK {
			t.Fatalf("alice's ls-refs: got HTTP %d, want 200", got)
		}
		return h.tenants.Hits("alice") == a1
	})
}

// lsRefsBody is the body of the last ls-refs POST that reached git.
func (h *host) lsRefsBody(t *testing.T) []byte {
	t.Helper()
	b, _ := h.tenants.LastLsRefs()
	if b == nil {
		t.Fatal("no ls-refs POST reached git")
	}
	return b
}

// post sends body as a v2 git-upload-pack POST to a.git through nginx,
// with user's credentials, and returns the status.
func (h *host) post(t *testing.T, user, token string, body []byte) int {
	t.Helper()
	code, _ := h.postCache(t, user, token, body)
	return code
}

// postCache is post, and it returns nginx's cache status too (X-Git-Cache).
func (h *host) postCache(t *testing.T, user, token string, body []byte) (int, string) {
	t.Helper()
	code, status, err := h.rawPost(t.Context(), user, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, status
}

// rawPost is postCache for any goroutine: it returns its error.
func (h *host) rawPost(ctx context.Context, user, token string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.nginx.URL+"/a.git/git-upload-pack", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.SetBasicAuth(user, token)
	req.Header.Set("Git-Protocol", "version=2")
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("X-Git-Cache"), nil
}

// TestCacheRefreshGoesToGitOnce: while the listing that refreshes an
// expired entry waits for git, the same listings are answered from the
// entry it replaces (UPDATING) and do not reach git: git sees one listing
// per key and refresh, however many agents ask meanwhile.
func TestCacheRefreshGoesToGitOnce(t *testing.T) {
	h := newHost(t, true)
	alice := h.source(t, "alice", "a-token", "a.git")
	if _, err := alice.Head(t.Context()); err != nil {
		t.Fatal(err)
	}
	body := h.lsRefsBody(t)
	release := h.tenants.HoldLsRefs()
	defer release()
	// Ask until a listing finds the entry expired and goes to git, where
	// it is held: its answer does not come back while the others ask.
	type answer struct {
		code   int
		status string
	}
	refresher := make(chan answer, 1)
	until(t, "a listing that refreshes the entry", func() bool {
		hits := h.tenants.Hits("alice")
		done := make(chan answer, 1)
		go func() { c, s, _ := h.rawPost(context.Background(), "alice", "a-token", body); done <- answer{c, s} }()
		for {
			select {
			case a := <-done: // served from the fresh entry
				if a.code != http.StatusOK || a.status != "HIT" {
					t.Fatalf("listing while fresh: got HTTP %d, %s; want 200 HIT", a.code, a.status)
				}
				time.Sleep(100 * time.Millisecond)
				return false
			default:
			}
			if h.tenants.Hits("alice") > hits {
				go func() { refresher <- <-done }()
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	hits := h.tenants.Hits("alice")
	for range 5 {
		if code, status := h.postCache(t, "alice", "a-token", body); code != http.StatusOK || status != "UPDATING" {
			t.Fatalf("listing during the refresh: got HTTP %d, %s; want 200 UPDATING (the replaced entry)", code, status)
		}
	}
	if got := h.tenants.Hits("alice") - hits; got != 0 {
		t.Errorf("listings during the refresh that reached git: got %d, want 0", got)
	}
	release()
	if a := <-refresher; a.code != http.StatusOK || a.status != "EXPIRED" {
		t.Errorf("the refreshing listing: got HTTP %d, %s; want 200 EXPIRED (fresh from git)", a.code, a.status)
	}
}

// TestCacheIsFreshWithinItsTime: after a push, an agent polling through
// the cache sees the new commit once the cache time has passed: every
// answer of a listing asked for 2 s after the push (1 s of
// proxy_cache_valid, on nginx's whole-second clock) is the new one.
func TestCacheIsFreshWithinItsTime(t *testing.T) {
	h := newHost(t, true)
	src := h.source(t, "alice", "a-token", "a.git")
	ctx := t.Context()
	if _, err := src.Head(ctx); err != nil {
		t.Fatal(err)
	}
	rev := h.push(t, "2")
	pushed := time.Now()
	waitCtx(ctx, t, 2*time.Second+100*time.Millisecond)
	for range 3 {
		asked := time.Since(pushed)
		got, err := src.Head(ctx)
		if err != nil || got != rev {
			t.Fatalf("Head %s after the push: got %q, %v; want %s", asked.Round(time.Millisecond), got, err, rev)
		}
	}
}

func waitCtx(ctx context.Context, t *testing.T, d time.Duration) {
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-time.After(d):
	}
}

// TestWithoutCacheEveryListingReachesGit: the same nginx without the
// snippet only proxies (the bench's comparison).
func TestWithoutCacheEveryListingReachesGit(t *testing.T) {
	h := newHost(t, false)
	src := h.source(t, "alice", "a-token", "a.git")
	for range 5 {
		if _, err := src.Head(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.git.Stats().RefListings; got != 5 {
		t.Errorf("ls-refs that reached git: got %d, want 5", got)
	}
}

// TestREADMEQuotesTheSnippet: the README shows docs/nginx/git-cache.conf
// as it is, the file the tests and the bench include.
func TestREADMEQuotesTheSnippet(t *testing.T) {
	snippet, err := os.ReadFile(nginxtest.SnippetPath())
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(nginxtest.SnippetPath()), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```nginx\n"+string(snippet)+"```\n") {
		t.Error("README.md does not quote docs/nginx/git-cache.conf verbatim in an ```nginx block")
	}
}

// TestAgentsSendTheSameListing: every agent following one ref sends the
// same ls-refs request, byte for byte, at its first contact and at every
// poll after, whoever it is (its own credentials aside): nothing of the
// agent's own (a session id, a host name, a time) is in the body or the
// headers, so a cache keyed on them serves a whole fleet with one entry.
func TestAgentsSendTheSameListing(t *testing.T) {
	h := newHost(t, false)
	want := "0014command=ls-refs\n" + pkt("agent="+capability.DefaultAgent()+"\n") + pkt("object-format=sha1\n") +
		"0001" + pkt("peel\n") + pkt("ref-prefix refs/heads/main\n") + pkt("ref-prefix refs/tags/main\n") + "0000"
	var firstHdr http.Header
	for i, user := range []string{"alice", "carol", "alice", "carol"} {
		token := map[string]string{"alice": "a-token", "carol": "c-token"}[user]
		src := h.source(t, user, token, "a.git")
		for range 2 { // the first contact, then a poll
			if _, err := src.Head(t.Context()); err != nil {
				t.Fatal(err)
			}
			body, hdr := h.tenants.LastLsRefs()
			if string(body) != want {
				t.Fatalf("agent %d (%s): ls-refs body %q, want %q", i, user, body, want)
			}
			hdr.Del("Authorization")
			if firstHdr == nil {
				firstHdr = hdr
			} else if !reflect.DeepEqual(hdr, firstHdr) {
				t.Fatalf("agent %d (%s): ls-refs headers %v, want %v (the first agent's)", i, user, hdr, firstHdr)
			}
		}
	}
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
