package promote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// Host is one agent as Prometheus last saw it (reconciler fleet).
type Host struct {
	HostID   string `json:"host_id"`
	App      string `json:"app"` // the app label, else the scrape job
	Instance string `json:"instance"`
	Job      string `json:"job"`
	Version  string `json:"version,omitempty"`
	Revision string `json:"revision,omitempty"`
	// Rollouts are the rollouts the agent reports, with its state in each.
	Rollouts []HostRollout `json:"rollouts,omitempty"`
	LastPoll *time.Time    `json:"last_poll,omitempty"`
	// ErrorClass and Error are the last poll's error, while it failed.
	ErrorClass string `json:"error_class,omitempty"`
	Error      string `json:"error,omitempty"`
}

// HostRollout is an agent's state in one rollout.
type HostRollout struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Agent is the agent's own file (run --agent-path) when the rollout
	// is the agent's, not an app's.
	Agent string `json:"agent,omitempty"`
}

// fleetQuery reads every series the fleet view shows, in one query.
const fleetQuery = `{__name__=~"` + fleetmetrics.NameHostInfo + "|" + fleetmetrics.NameAppliedInfo + "|" +
	fleetmetrics.NameRolloutState + "|" + fleetmetrics.NameLastPoll + "|" + fleetmetrics.NameLastErrorInfo + `"}`

// Fleet asks Prometheus, at now, for every agent that reports to it, one
// Host per app an agent runs (series are joined by job, instance and app;
// reconciler_host_info, which has no app, names the host of every app of
// its instance). With rollout set, only the hosts that report that
// rollout. Sorted by host id, then app.
func Fleet(ctx context.Context, p Prometheus, rollout string, now time.Time) ([]Host, error) {
	v, _, _, err := p.Query(ctx, fleetQuery, now)
	if err != nil {
		if !refused(err) {
			err = fmt.Errorf("%w: %w", ErrUnanswered, err)
		}
		return nil, fmt.Errorf("ask Prometheus for the fleet: %w", err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("ask Prometheus for the fleet: %w: answered a %s, not a vector", ErrUnanswered, v.Type())
	}
	hosts := map[[3]string]*Host{}    // by job, instance, app
	hostIDs := map[[2]string]string{} // by job, instance
	for _, s := range vec {
		m := s.Metric
		inst := [2]string{string(m["job"]), string(m["instance"])}
		if m[model.MetricNameLabel] == fleetmetrics.NameHostInfo {
			hostIDs[inst] = string(m[fleetmetrics.LabelHostID])
			continue
		}
		key := [3]string{inst[0], inst[1], string(m["app"])}
		if hosts[key] == nil {
			hosts[key] = &Host{App: string(m["app"]), Instance: inst[1], Job: inst[0]}
		}
		fillHost(hosts[key], m, float64(s.Value))
	}
	seen := map[[2]string]bool{}
	for key := range hosts {
		seen[[2]string{key[0], key[1]}] = true
	}
	for inst := range hostIDs { // an agent that reports nothing else (yet)
		if !seen[inst] {
			hosts[[3]string{inst[0], inst[1], ""}] = &Host{Instance: inst[1], Job: inst[0]}
		}
	}
	var out []Host
	for key, h := range hosts {
		h.HostID = hostIDs[[2]string{key[0], key[1]}]
		if h.HostID == "" {
			h.HostID = h.Instance
		}
		if h.App == "" {
			h.App = h.Job
		}
		if rollout != "" && !slices.ContainsFunc(h.Rollouts, func(r HostRollout) bool { return r.ID == rollout }) {
			continue
		}
		slices.SortFunc(h.Rollouts, func(a, b HostRollout) int { return strings.Compare(a.ID+"\x00"+a.Agent, b.ID+"\x00"+b.Agent) })
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Host) int {
		return strings.Compare(a.HostID+"\x00"+a.App+"\x00"+a.Instance, b.HostID+"\x00"+b.App+"\x00"+b.Instance)
	})
	return out, nil
}

// fillHost reads one series into its host.
func fillHost(h *Host, m model.Metric, v float64) {
	switch m[model.MetricNameLabel] {
	case fleetmetrics.NameAppliedInfo:
		h.Version, h.Revision = string(m[fleetmetrics.LabelVersion]), string(m[fleetmetrics.LabelRevision])
	case fleetmetrics.NameRolloutState:
		if v == 1 {
			h.Rollouts = append(h.Rollouts, HostRollout{ID: string(m[fleetmetrics.LabelRollout]), State: string(m[fleetmetrics.LabelState]),
				Agent: string(m[fleetmetrics.LabelAgent])})
		}
	case fleetmetrics.NameLastPoll:
		t := time.Unix(0, int64(v*1e9)).UTC()
		h.LastPoll = &t
	case fleetmetrics.NameLastErrorInfo:
		h.ErrorClass, h.Error = string(m[fleetmetrics.LabelClass]), string(m[fleetmetrics.LabelMessage])
	}
}

// RenderFleet prints hosts as a table, one line per host and app; times
// are shown relative to now.
func RenderFleet(w io.Writer, hosts []Host, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tAPP\tVERSION\tREVISION\tROLLOUT\tLAST POLL\tLAST ERROR")
	for _, h := range hosts {
		var rs []string
		for _, r := range h.Rollouts {
			if r.Agent != "" {
				rs = append(rs, r.ID+" (agent) "+r.State)
				continue
			}
			rs = append(rs, r.ID+" "+r.State)
		}
		poll := "never"
		if h.LastPoll != nil {
			poll = now.Sub(*h.LastPoll).Round(time.Second).String() + " ago"
		}
		errText := "-"
		if h.Error != "" {
			errText = shorten(h.ErrorClass+": "+h.Error, 80)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.HostID, dash(h.App), dash(h.Version), dash(gitrev.Short(h.Revision)),
			dash(strings.Join(rs, ", ")), poll, errText)
	}
	return tw.Flush()
}

// RenderFleetJSON prints hosts as a JSON array.
func RenderFleetJSON(w io.Writer, hosts []Host) error {
	if hosts == nil {
		hosts = []Host{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(hosts)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
