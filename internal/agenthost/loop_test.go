package agenthost

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/robfig/cron/v3"
)

// TestLoopStopsWhenItsServerFails: a part that fails (here the HTTP
// server, its listener closed under it) stops the loop with that error,
// and Run returns only once the agent and the watchers have stopped,
// without its context ending.
func TestLoopStopsWhenItsServerFails(t *testing.T) {
	repo := newDeployRepo(t)
	layout := reconcile.Layout{Dir: t.TempDir()}
	src, err := gitsrc.New(gitsrc.Options{URL: repo.URL(), CacheDir: layout.GitCache()})
	if err != nil {
		t.Fatal(err)
	}
	agent := reconcile.NewAgent(newEngine(layout, src, nil), cron.Every(time.Hour), discard)
	ln := listen(t)
	ln.Close()
	srv := NewServer(&Single{Agent: agent, Layout: layout, Metrics: prometheus.NewRegistry()}, nil, discard)
	loop := Loop{Agent: agent, Layout: layout, OnRequest: agent.Trigger, Server: srv, Listener: ln, Log: discard}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = loop.Run(ctx)
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Run with a closed listener: got %v, want net.ErrClosed", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the context ended: want Run to stop by itself")
	}
}

// TestLoopPollsOnRequest: a request handed over in the directory (as sync
// writes it when an agent runs there) reaches OnRequest.
func TestLoopPollsOnRequest(t *testing.T) {
	repo := newDeployRepo(t)
	layout := reconcile.Layout{Dir: t.TempDir()}
	src, err := gitsrc.New(gitsrc.Options{URL: repo.URL(), CacheDir: layout.GitCache()})
	if err != nil {
		t.Fatal(err)
	}
	agent := reconcile.NewAgent(newEngine(layout, src, nil), cron.Every(time.Hour), discard)
	asked := make(chan struct{}, 1)
	onRequest := func() {
		select {
		case asked <- struct{}{}:
		default:
		}
		agent.Trigger()
	}
	runUntilCleanup(t, Loop{Agent: agent, Layout: layout, OnRequest: onRequest, Log: discard}.Run)
	waitFor(t, "version 1 applied", func() bool { st, err := ReadStatus(layout); return err == nil && st.Version == "1" })
	if _, err := layout.HandOver(reconcile.Request{From: "sync"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("a request handed over did not reach OnRequest")
	}
}
