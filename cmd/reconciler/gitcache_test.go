package main

import (
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/nginxtest"
)

// TestAgentBehindGitCache: a real agent polling every second through a
// real nginx with the README's ls-refs cache (docs/nginx/git-cache.conf)
// in front of a real git http-backend that wants credentials deploys
// release 1, then a new commit within its period plus the cache time
// (1 s + at most 2 s: proxy_cache_valid 1s on nginx's whole-second clock;
// the bound allows 10 s more for the download, the switch and the health
// check on a loaded machine, far less than a stale cache would take: its
// entries are kept for a minute). Its credentials appear in no log line.
func TestAgentBehindGitCache(t *testing.T) {
	t.Parallel()
	nginxtest.Require(t)
	d := newDeployRepo(t)
	addr, dir := freeAddr(t), t.TempDir()
	killApps(t, dir)
	d.releaseApp(t, "1", addr, nil)
	git := d.ServeHTTP(t, gittest.WithBasicAuth("agent", "cache-s3cret"))
	host, path, _ := strings.Cut(strings.TrimPrefix(git.URL, "http://"), "/")
	ngx := nginxtest.New(t, nginxtest.Options{Upstream: host, Cache: true})
	repo := strings.Replace(ngx.URL, "http://", "http://agent:cache-s3cret@", 1) + "/" + path
	listen := freeAddr(t)
	a := startAgent(t, "--repo", repo, "--path", "web/current.conf", "--dir", dir,
		"--schedule", "@every 1s", "--listen", listen,
		"--health-url", "http://"+addr+"/healthz", "--health-timeout", "10s", "--log-format", "json")
	waitFor(t, "the agent to deploy 1 through the cache", func() bool { return answers(addr, "1") })

	d.releaseApp(t, "2", addr, nil)
	committed := time.Now()
	const period, cache, slack = time.Second, 2 * time.Second, 10 * time.Second
	deadline := committed.Add(period + cache + slack)
	for !answers(addr, "2") {
		if time.Now().After(deadline) {
			t.Fatalf("release 2 not serving %s after its commit; want within the period (%s) + the cache time (%s) + %s",
				time.Since(committed).Round(time.Millisecond), period, cache, slack)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("commit to release 2 serving through the cache: %s", time.Since(committed).Round(time.Millisecond))
	if st := git.Stats(); st.RefListings == 0 {
		t.Errorf("git answered no ls-refs: the agent did not poll through nginx")
	}
	if strings.Contains(a.logs.String(), "cache-s3cret") {
		t.Error("the agent logged its git credentials")
	}
}
