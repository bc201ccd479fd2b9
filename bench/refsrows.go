package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/reconciler-dev/reconciler/gitsrc"
)

// refsRows measures what a no-change poll costs the git host as the deploy
// repo's ref count grows (tags, pull-request refs): bytes on the wire, both
// ways, HTTP headers included, counted by a relay in front of the server;
// the git server's CPU (git http-backend and its git-upload-pack children,
// in a process of their own); and requests. Side by side: the agent (git
// protocol v2, one POST once the server's capabilities are known), the
// agent's previous listing (go-git v5's v0 advertisement, every ref),
// `git fetch --no-tags origin main` in an up-to-date clone (v2: GET +
// ls-refs POST) and `git ls-remote URL main` (v2, but a tail-matched
// pattern sends no ref-prefix: every ref).
func refsRows(ctx context.Context, t *table, work string, o options) error {
	for _, n := range o.refs {
		if err := refsRowsAt(ctx, t, work, n, o); err != nil {
			return fmt.Errorf("%d refs: %w", n, err)
		}
	}
	return nil
}

// pollCost is the median cost to the git host of one no-change poll.
type pollCost struct {
	bytes, requests float64
	serverCPU       stat // ms per poll, over runs
}

func refsRowsAt(ctx context.Context, t *table, work string, n int, o options) error {
	root := filepath.Join(work, fmt.Sprintf("refs-%d", n))
	bare := filepath.Join(root, "deploy.git")
	if err := makeRepo(bare, 1, 0, []byte(`{"version":"1.0","bin":{"path":"web/app"}}`)); err != nil {
		return err
	}
	if err := addTags(bare, n); err != nil {
		return err
	}
	srv, err := startRemoteGitServer(root, false)
	if err != nil {
		return err
	}
	defer srv.Close()
	rl, err := startRelay(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		return err
	}
	defer rl.Close()
	url := rl.URL + "/deploy.git"
	clone := filepath.Join(root, "clone")
	if err := runCmdContext(ctx, "", "git", "clone", "-q", "--bare", "--depth", "1", "--no-tags", "--single-branch", "-b", "main", url, clone); err != nil {
		return err
	}
	agent, err := gitsrc.New(gitsrc.Options{URL: url})
	if err != nil {
		return err
	}
	if _, err := agent.Head(ctx); err != nil { // first contact: learns the capabilities
		return err
	}
	polls := []struct {
		name string
		poll func() error
	}{
		{"agent (protocol v2, one POST)", func() error { _, err := agent.Head(ctx); return err }},
		{"agent before (go-git v5 v0 listing)", func() error { return goGitList(ctx, url) }},
		{"git fetch --no-tags origin main", func() error {
			return runCmdContext(ctx, clone, "git", "fetch", "-q", "--no-tags", url, "+refs/heads/main:refs/heads/main")
		}},
		{"git ls-remote URL main", func() error { return runCmdContext(ctx, "", "git", "ls-remote", "-q", url, "main") }},
	}
	costs := make([]pollCost, len(polls))
	for i, p := range polls {
		if costs[i], err = measurePolls(srv, rl, o, p.poll); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	addRefsRows(t, n, costs, func(i int) string { return polls[i].name })
	return nil
}

// addRefsRows compares the agent (costs[0]) with each alternative.
func addRefsRows(t *table, n int, costs []pollCost, name func(int) string) {
	ours := costs[0]
	label := fmt.Sprintf("no-change poll, %d refs", n)
	for i := 1; i < len(costs); i++ {
		alt := costs[i]
		t.add(label+": bytes on the wire per poll (both ways, HTTP headers included)",
			fmt.Sprintf("%.0f B, %.2g req", ours.bytes, ours.requests),
			fmt.Sprintf("%.0f B, %.2g req (%s× ours)", alt.bytes, alt.requests, num(alt.bytes/ours.bytes)), name(i), ours.bytes/alt.bytes)
		t.add(label+": git server CPU per poll (http-backend + upload-pack)",
			ours.serverCPU.String("ms"), alt.serverCPU.String("ms"), name(i), ratio(ours.serverCPU.med, alt.serverCPU.med))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// measurePolls runs poll o.refPolls times per run, o.runs runs, and
// returns the median bytes and requests per poll and the server's CPU.
func measurePolls(srv *remoteGitServer, rl *relay, o options, poll func() error) (pollCost, error) {
	var bytes, reqs, cpu []float64
	for range o.runs {
		l0, u0 := srv.stats()
		b0, c0 := rl.bytes(), srv.cpu()
		for range o.refPolls {
			if err := poll(); err != nil {
				return pollCost{}, err
			}
		}
		l1, u1 := srv.stats()
		per := float64(o.refPolls)
		bytes = append(bytes, float64(rl.bytes()-b0)/per)
		reqs = append(reqs, float64(l1-l0+u1-u0)/per)
		cpu = append(cpu, ms(srv.cpu()-c0)/per)
	}
	return pollCost{bytes: summarize(bytes).med, requests: summarize(reqs).med, serverCPU: summarize(cpu)}, nil
}

// goGitList is the agent's listing before protocol v2: go-git v5's
// Remote.List, one v0 advertisement of every ref.
func goGitList(ctx context.Context, url string) error {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	_, err := remote.ListContext(ctx, &git.ListOptions{PeelingOption: git.AppendPeeled})
	return err
}

// addTags gives the bare repo n lightweight tags at main, written into
// packed-refs directly (sorted, as git writes it): git update-ref would
// take minutes at 100,000.
func addTags(bare string, n int) error {
	head, err := runOut("git", "-C", bare, "rev-parse", "refs/heads/main")
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s refs/tags/t%06d\n", head, i)
	}
	return os.WriteFile(filepath.Join(bare, "packed-refs"), []byte(b.String()), 0o644)
}

// relay is a TCP relay on 127.0.0.1 that counts the bytes it carries, so
// that what a client costs the server is measured on the wire.
type relay struct {
	URL     string
	ln      net.Listener
	carried atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startRelay(target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{URL: "http://" + ln.Addr().String(), ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.DialTimeout("tcp", target, 10*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, s)
			r.mu.Unlock()
			r.wg.Add(2)
			go r.pipe(s, c)
			go r.pipe(c, s)
		}
	}()
	return r, nil
}

// pipe copies src to dst, counting as it goes (a kept-alive connection
// counts between polls too), and closes both when src ends.
func (r *relay) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	_, _ = io.Copy(countWriter{dst, &r.carried}, src)
	dst.Close()
	src.Close()
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// bytes is what the relay carried so far, both ways.
func (r *relay) bytes() int64 { return r.carried.Load() }

func (r *relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
