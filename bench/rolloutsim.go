package main

import (
	"context"
	"fmt"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// rolloutSim is the fleet of the rollout rows: host i (web-0001 …) polls
// with its own Source and, when the branch moved, reads the desired file,
// places itself with reconcile.WaveOf and switches to its target. A switch
// to the version that crashes on start fails: the host stays on what it
// ran, and records the rollout as failed, as the agent does. A switch is
// instant here: the real agent's download and health bake add to every
// step what they take. Host i is
// used by agent i's goroutine only; its fields are read once every agent
// has returned.
type rolloutSim struct {
	path    string
	crashes string // the version that crashes on start
	metrics *promtest.Hosts
	hosts   []*simHost
}

type simHost struct {
	id      string
	src     *gitsrc.Source
	current string          // the version it runs
	failed  map[string]bool // rollout ids whose switch failed here
	ran     map[string]bool // every version it ever started
}

func newRolloutSim(url, path, crashes string, n int, metrics *promtest.Hosts) (*rolloutSim, error) {
	s := &rolloutSim{path: path, crashes: crashes, metrics: metrics}
	for i := range n {
		src, err := gitsrc.New(gitsrc.Options{URL: url, Timeout: fleetPollTimeout})
		if err != nil {
			return nil, err
		}
		s.hosts = append(s.hosts, &simHost{id: hostName(i), src: src, failed: map[string]bool{}, ran: map[string]bool{}})
	}
	return s, nil
}

// hostName is the id of host i: web-0001 for 0.
func hostName(i int) string { return fmt.Sprintf("web-%04d", i+1) }

// poll is host id's poll (a pollFunc): a ref listing, and when the branch
// moved, a depth-1 fetch, the desired file read and the host's switch.
func (s *rolloutSim) poll(ctx context.Context, id int, known string) (string, error) {
	h := s.hosts[id]
	head, err := h.src.Head(ctx)
	if err != nil || head == known {
		return known, err
	}
	rev, err := h.src.Fetch(ctx, head)
	if err != nil {
		return known, err
	}
	data, err := h.src.ReadFile(ctx, rev, s.path)
	if err != nil {
		return known, err
	}
	d, err := reconcile.ParseDesired(s.path, data)
	if err != nil {
		return known, err
	}
	s.apply(h, d)
	return rev, nil
}

// apply reconciles host h to d and exports its place in d's rollout.
func (s *rolloutSim) apply(h *simHost, d reconcile.Desired) {
	target, wave := d, (*reconcile.Wave)(nil)
	if d.Rollout != nil {
		w := reconcile.WaveOf(&d, h.id, h.failed[d.WaveID()])
		target, wave = d.Target(w), &w
	}
	if target.Version != h.current {
		h.ran[target.Version] = true
		switch {
		case target.Version != s.crashes:
			h.current = target.Version
		case wave != nil && wave.In:
			h.failed[d.WaveID()] = true // it stays on from for this rollout
		}
	}
	s.metrics.SetUp(h.id, true) // a crashed release is switched back from
	if wave == nil {
		s.metrics.DropRollouts(h.id)
		return
	}
	state := reconcile.RolloutOut
	switch {
	case h.failed[d.WaveID()]:
		state = reconcile.RolloutFailed
	case wave.In && h.current == d.Version:
		state = reconcile.RolloutApplied
	case wave.In:
		state = reconcile.RolloutPending
	}
	s.metrics.SetRollout(h.id, d.WaveID(), state, wave.Percent)
}

// ran lists the hosts that ever started version v.
func (s *rolloutSim) ran(v string) []string {
	var out []string
	for _, h := range s.hosts {
		if h.ran[v] {
			out = append(out, h.id)
		}
	}
	return out
}
