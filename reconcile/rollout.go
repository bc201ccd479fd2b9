package reconcile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rollout is the "rollout" block of a desired state file: the top-level
// release goes to the hosts in the wave, every other host runs From
// (docs/reference.md, "Staged rollouts"). Every step of a rollout is a
// commit that changes this block.
type Rollout struct {
	ID        string         `json:"id,omitempty"`
	From      *Desired       `json:"from"`
	Canary    []string       `json:"canary,omitempty"`
	Percent   *float64       `json:"percent"`
	Steps     []RolloutStep  `json:"steps,omitempty"`
	MaxFailed int            `json:"max_failed,omitempty"`
	Checks    []RolloutCheck `json:"checks,omitempty"`
	OnHalt    string         `json:"on_halt,omitempty"`
	Halted    *Halted        `json:"halted"`
}

// RolloutStep is one stage of a rollout: a share of the fleet, and how
// long it must be healthy before the next one.
type RolloutStep struct {
	Percent float64 `json:"percent"`
	Soak    string  `json:"soak,omitempty"` // a Go duration: "30m", "1h"
}

// SoakFor is the step's soak ("" is none); validate made sure it parses.
func (s RolloutStep) SoakFor() time.Duration {
	d, _ := time.ParseDuration(s.Soak)
	return d
}

// RolloutCheck is a PromQL query that must return one number within
// [Min, Max] (either bound may be absent, not both).
type RolloutCheck struct {
	Query string   `json:"query"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
}

// Halted records that a rollout was stopped, and why.
type Halted struct {
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// On-halt policies.
const (
	OnHaltRevert = "revert" // every host back to from
	OnHaltFreeze = "freeze" // hosts stay where they are
)

// WaveID is the rollout's id: "id", or the top-level version.
func (d *Desired) WaveID() string {
	if d.Rollout == nil {
		return ""
	}
	if d.Rollout.ID != "" {
		return d.Rollout.ID
	}
	return d.Version
}

// PercentOf is the share of the fleet in the wave, in hundredths of a
// percent (0 to 10000): what a bucket is compared with.
func (r *Rollout) PercentOf() int {
	if r.Percent == nil {
		return 0
	}
	return int(math.Round(*r.Percent * 100))
}

// OnHaltPolicy is on_halt with its default.
func (r *Rollout) OnHaltPolicy() string {
	if r.OnHalt == "" {
		return OnHaltRevert
	}
	return r.OnHalt
}

// Bucket is where a host falls in a rollout: the first 8 bytes of
// sha256("<rollout id>/<host id>") as a big-endian unsigned integer, modulo
// 10000. A host is in the wave when its bucket is below percent × 100, so a
// host in at 10% stays in at 50%, and each rollout id draws new early hosts.
func Bucket(rolloutID, hostID string) int {
	sum := sha256.Sum256([]byte(rolloutID + "/" + hostID))
	return int(binary.BigEndian.Uint64(sum[:8]) % 10000)
}

// Wave says whether a host is in a rollout's wave, and why.
type Wave struct {
	Rollout string  `json:"id"` // the rollout id
	HostID  string  `json:"host_id"`
	Bucket  int     `json:"bucket"`
	Percent float64 `json:"percent"`
	In      bool    `json:"in_wave"`
	// Failed: this host's switch to the rollout's version failed before;
	// it stays on from for this rollout, whatever later commits say.
	Failed  bool    `json:"failed,omitempty"`
	Why     string  `json:"why"`
	Version string  `json:"version"` // the release rolled out
	From    string  `json:"from"`    // the release outside the wave
	Halted  *Halted `json:"halted,omitempty"`
}

// WaveOf places hostID in the rollout of d (d.Rollout must be set);
// failed says the host's switch to this rollout's version failed before.
func WaveOf(d *Desired, hostID string, failed bool) Wave {
	r := d.Rollout
	w := Wave{Rollout: d.WaveID(), HostID: hostID, Bucket: Bucket(d.WaveID(), hostID),
		Version: d.Version, From: r.From.Version, Halted: r.Halted, Failed: failed}
	limit := r.PercentOf()
	w.Percent = float64(limit) / 100
	pct := strconv.FormatFloat(w.Percent, 'f', -1, 64) + "%"
	switch {
	case failed:
		w.Why = "this host's switch to " + d.Version + " failed in this rollout: it stays on " + r.From.Version
	case slices.Contains(r.Canary, hostID):
		w.In, w.Why = true, "canary"
	case w.Bucket < limit:
		w.In, w.Why = true, fmt.Sprintf("bucket %d < %d (%s)", w.Bucket, limit, pct)
	default:
		w.Why = fmt.Sprintf("bucket %d >= %d (%s)", w.Bucket, limit, pct)
	}
	return w
}

// Target is the release the host reconciles to: the top-level one in the
// wave, from outside it. Without a rollout block, d itself.
func (d *Desired) Target(w Wave) Desired {
	if d.Rollout == nil || w.In {
		t := *d
		t.Rollout = nil
		return t
	}
	return *d.Rollout.From
}

var rolloutIDRE = versionRE

// validate checks a rollout block; every message names the key.
func (r *Rollout) validate(top *Desired) error {
	if r.ID != "" && !rolloutIDRE.MatchString(r.ID) {
		return fmt.Errorf(`key "rollout.id": %q must be 1 to 64 of A-Z a-z 0-9 . _ + - and not start with "."`, r.ID)
	}
	for _, check := range []func() error{
		func() error { return r.validateFrom(top) },
		r.validateCanary,
		r.validateSteps,
		r.validateChecks,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	if r.MaxFailed < 0 {
		return fmt.Errorf(`key "rollout.max_failed": %d is negative`, r.MaxFailed)
	}
	switch r.OnHalt {
	case "", OnHaltRevert, OnHaltFreeze:
	default:
		return fmt.Errorf(`key "rollout.on_halt": %q: want "revert" or "freeze"`, r.OnHalt)
	}
	if r.Halted != nil && strings.TrimSpace(r.Halted.Reason) == "" {
		return errors.New(`key "rollout.halted.reason" is required when "halted" is set`)
	}
	return nil
}

// validateFrom checks "from": a whole desired state of its own, another
// version than the one rolled out, with no rollout of its own.
func (r *Rollout) validateFrom(top *Desired) error {
	if r.From == nil {
		return errors.New(`key "rollout.from" is required: the full desired state of the hosts outside the wave`)
	}
	if r.From.Rollout != nil {
		return errors.New(`key "rollout.from.rollout": a rollout cannot nest another`)
	}
	if err := r.From.Validate(); err != nil {
		return fmt.Errorf("rollout.from: %w", err)
	}
	if r.From.Version == top.Version {
		return fmt.Errorf(`key "rollout.from.version": %q is the version being rolled out; from is what the hosts outside the wave keep`, r.From.Version)
	}
	return nil
}

// validateCanary checks the canary host ids: each one once, none empty.
func (r *Rollout) validateCanary() error {
	for i, h := range r.Canary {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/\x00\n") {
			return fmt.Errorf(`key "rollout.canary[%d]": %q is not a host id`, i, h)
		}
		if slices.Index(r.Canary, h) != i {
			return fmt.Errorf(`key "rollout.canary": %q is listed twice`, h)
		}
	}
	return nil
}

// validateSteps checks "percent" and the steps: 0 to 100 in hundredths,
// steps never narrowing, soaks Go durations.
func (r *Rollout) validateSteps() error {
	if r.Percent == nil {
		return errors.New(`key "rollout.percent" is required (0 to 100)`)
	}
	if err := checkPercent(*r.Percent); err != nil {
		return fmt.Errorf(`key "rollout.percent": %w`, err)
	}
	last := -1.0
	for i, s := range r.Steps {
		if err := checkPercent(s.Percent); err != nil {
			return fmt.Errorf(`key "rollout.steps[%d].percent": %w`, i, err)
		}
		if s.Percent < last {
			return fmt.Errorf(`key "rollout.steps[%d].percent": %v is below the step before (%v); steps only widen`, i, s.Percent, last)
		}
		if s.Soak != "" {
			if d, err := time.ParseDuration(s.Soak); err != nil || d < 0 {
				return fmt.Errorf(`key "rollout.steps[%d].soak": %q is not a duration such as "30m" or "1h"`, i, s.Soak)
			}
		}
		last = s.Percent
	}
	return nil
}

// validateChecks checks each PromQL check: a query and at least one
// finite bound, min not above max.
func (r *Rollout) validateChecks() error {
	for i, c := range r.Checks {
		switch {
		case strings.TrimSpace(c.Query) == "":
			return fmt.Errorf(`key "rollout.checks[%d].query" is required`, i)
		case c.Min == nil && c.Max == nil:
			return fmt.Errorf(`key "rollout.checks[%d]": give "min", "max" or both`, i)
		case c.Min != nil && c.Max != nil && *c.Min > *c.Max:
			return fmt.Errorf(`key "rollout.checks[%d]": min %v is above max %v`, i, *c.Min, *c.Max)
		case c.Min != nil && (math.IsNaN(*c.Min) || math.IsInf(*c.Min, 0)), c.Max != nil && (math.IsNaN(*c.Max) || math.IsInf(*c.Max, 0)):
			return fmt.Errorf(`key "rollout.checks[%d]": bounds must be finite numbers`, i)
		}
	}
	return nil
}

// checkPercent accepts 0 to 100 in hundredths: a bucket is one of 10000.
func checkPercent(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 100 {
		return fmt.Errorf("%v: want 0 to 100", p)
	}
	if h := p * 100; math.Abs(h-math.Round(h)) > 1e-6 {
		return fmt.Errorf("%v: at most two decimals (a bucket is 0.01%%)", p)
	}
	return nil
}

// MarshalIndent writes a desired state file as a person would: keys in the
// documented order, two-space indent, a final newline (reconciler promote
// writes it back).
func (d Desired) MarshalIndent() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
