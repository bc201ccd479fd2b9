package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/gitrev"
	"github.com/reconciler-dev/reconciler/internal/promote"
)

// promoter is reconciler promote's code, wired as `reconciler promote
// --repo file://BARE --path web/current.conf --prometheus URL` wires it
// (no credentials, no signing: a local bare repo).
func (f *fleetDemo) promoter() (*promote.Promoter, *promote.Client, error) {
	client, err := promote.NewClient(f.prom.URL, http.DefaultTransport, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	src, err := gitsrc.New(gitsrc.Options{URL: "file://" + f.repo.bare, Ref: "main"})
	if err != nil {
		return nil, nil, err
	}
	p := &promote.Promoter{Repo: promote.GitRepo{Source: src}, Path: "web/current.conf", Prometheus: client}
	return p, client, nil
}

// rollOut starts r at its canary, as a person would, and lets promote take
// every step until it finishes.
func (f *fleetDemo) rollOut(ctx context.Context, p *promote.Promoter, r fleetRelease) error {
	start := time.Now()
	rev, err := f.commitRollout(r, 0, []string{fleetCanary}, nil, "web "+r.version+": rollout "+r.id+", the canary first")
	if err != nil {
		return err
	}
	f.startLine(r, rev, "by a person; then reconciler promote, every 0.5 s:")
	n, err := f.promoteUntil(ctx, p, promote.Finish, start, nil)
	if err != nil {
		return err
	}
	if err := f.waitUntil(ctx, "every host to serve "+r.version, func() bool { return f.allServe(r.version) }); err != nil {
		return err
	}
	f.say("%-28s %-20s every host serves %s after %s (%d promote runs)", "rollout "+r.id+" finished", "",
		r.version, time.Since(start).Round(time.Millisecond), n)
	f.hostsLine(ctx)
	return nil
}

// haltCanary starts the bad release r at its canary and lets promote
// halt it: the canary's agent switches back by itself, promote sees the
// host failed and reverts the wave.
func (f *fleetDemo) haltCanary(ctx context.Context, p *promote.Promoter, r fleetRelease) error {
	start := time.Now()
	rev, err := f.commitRollout(r, 0, []string{fleetCanary}, nil, "web "+r.version+": rollout "+r.id+", the canary first")
	if err != nil {
		return err
	}
	f.startLine(r, rev, "passes its health check and dies 1s later; promote, every 0.5 s:")
	back := false
	watch := func(ctx context.Context) {
		if ok, why := f.canaryBack(ctx, r); ok && !back {
			back = true
			f.canaryBackLine(r, start, why)
		}
	}
	if _, err := f.promoteUntil(ctx, p, promote.Halt, start, watch); err != nil {
		return err
	}
	if err := f.waitUntil(ctx, fleetCanary+" back on "+r.from, func() bool { watch(ctx); return back }); err != nil {
		return err
	}
	return f.afterHalt(ctx, r, start)
}

// promoteUntil runs what one `reconciler promote` runs, every half second,
// and prints its line as promote prints it (a hold only when it says
// something new), until it decides want; it returns the number of runs.
// An advance on the way to a finish shows what each host runs; any other
// move fails the demo. watch, when set, runs after each run, before its
// line is printed.
func (f *fleetDemo) promoteUntil(ctx context.Context, p *promote.Promoter, want promote.Action, start time.Time, watch func(context.Context)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, fleetWait)
	defer cancel()
	last := ""
	for n := 1; ; n++ {
		res, err := p.Run(ctx)
		if err != nil {
			return n, fmt.Errorf("promote: %w", err)
		}
		if watch != nil { // before the line: /status is fresher than what promote read
			watch(ctx)
		}
		if line := res.Line(p.Path); line != last {
			f.say("  %6s  %s", since(start), line)
			last = line
		}
		act := res.Decision.Action
		switch {
		case res.NoRollout:
			return n, errors.New("promote found no rollout block")
		case act == want:
			return n, nil
		case act == promote.Advance && want == promote.Finish:
			f.hostsLine(ctx)
		case act != promote.Hold:
			return n, fmt.Errorf("promote decided %s; the demo expected %s", act, want)
		}
		if err := f.pause(ctx, 500*time.Millisecond); err != nil {
			return n, fmt.Errorf("waiting for promote to %s: %w", want, err)
		}
	}
}

// fleetFromPrometheus prints what `reconciler fleet` prints, once
// Prometheus has scraped every host on the version they run.
func (f *fleetDemo) fleetFromPrometheus(ctx context.Context, client *promote.Client) error {
	head, err := f.repo.head()
	if err != nil {
		return err
	}
	var hosts []promote.Host
	err = f.waitUntil(ctx, "Prometheus to see every host on 2.0 at "+gitrev.Short(head), func() bool {
		var err error
		hosts, err = promote.Fleet(ctx, client, "", time.Now())
		if err != nil || len(hosts) != len(f.hosts) {
			return false
		}
		for _, h := range hosts {
			if h.Version != "2.0" || h.Revision != head || h.Error != "" {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := promote.RenderFleet(&b, hosts, time.Now()); err != nil {
		return err
	}
	f.say("")
	f.say("reconciler fleet --prometheus %s", f.prom.URL)
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		f.say("    %s", line)
	}
	return nil
}
