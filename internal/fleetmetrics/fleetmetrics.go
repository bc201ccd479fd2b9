package fleetmetrics

import "github.com/prometheus/client_golang/prometheus"

// Names of the contract's series.
const (
	NameHostInfo       = "reconciler_host_info"
	NameAppliedInfo    = "reconciler_applied_info"
	NameRolloutState   = "reconciler_rollout_state"
	NameRolloutPercent = "reconciler_rollout_percent"
	NameLastPoll       = "reconciler_last_poll_timestamp_seconds"
	NameLastErrorInfo  = "reconciler_last_error_info"
	NameAppUp          = "reconciler_app_up"
)

// Labels of the contract's series.
const (
	LabelHostID   = "host_id"
	LabelRollout  = "rollout"
	LabelState    = "state"
	LabelVersion  = "version"
	LabelRevision = "revision"
	LabelClass    = "class"
	LabelMessage  = "message"
	// LabelAgent marks the rollout series of the agent's own file
	// (run --agent-path): its value is that file's path in the deploy
	// repo. An app's rollout series never carry it, so promote and fleet
	// tell the agent's rollout from an app's on the same host.
	LabelAgent = "agent"
)

// Rollout states of a host: the state label of reconciler_rollout_state,
// and what status shows.
const (
	StateOut     = "out"     // outside the wave: runs from
	StatePending = "pending" // in the wave, the rollout's version not applied yet
	StateApplied = "applied" // in the wave, runs the rollout's version
	StateFailed  = "failed"  // its switch to the rollout's version failed: stays on from
)

// Series is one gauge of the contract: its name, help and labels, in the
// order their values are given.
type Series struct {
	Name   string
	Help   string
	labels []string
}

// Labels returns a copy of the series' labels, in order.
func (s Series) Labels() []string { return append([]string(nil), s.labels...) }

// GaugeVec is a new, unregistered collector of the series.
func (s Series) GaugeVec() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: s.Name, Help: s.Help}, s.labels)
}

// Gauge is a new, unregistered gauge of a series without labels.
func (s Series) Gauge() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: s.Name, Help: s.Help})
}

// Desc describes the series for a custom collector; extra labels follow
// the contract's (a test fleet serving many hosts from one endpoint adds
// host_id where one agent has none).
func (s Series) Desc(extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(s.Name, s.Help, append(s.Labels(), extra...), nil)
}

// The contract's series.
var (
	HostInfo = Series{NameHostInfo,
		"This agent's --host-id (value 1), which places it in rollouts.", []string{LabelHostID}}
	AppliedInfo = Series{NameAppliedInfo,
		"The applied version and deploy repo revision (value 1).", []string{LabelVersion, LabelRevision}}
	RolloutState = Series{NameRolloutState,
		"This host's state in the rollout of the desired file (value 1): out, pending, applied or failed; no series without a rollout block.",
		[]string{LabelRollout, LabelHostID, LabelState}}
	RolloutPercent = Series{NameRolloutPercent,
		"The rollout's percent in the desired file this host last read: a host that has not polled since a widening commit still reports the old one.",
		[]string{LabelRollout, LabelHostID}}
	LastPoll = Series{NameLastPoll,
		"Unix time of the last pass, whatever its result.", nil}
	LastErrorInfo = Series{NameLastErrorInfo,
		"The last pass's error and its class (value 1), only while the last pass failed; the message is cut at 200 bytes.",
		[]string{LabelClass, LabelMessage}}
	AppUp = Series{NameAppUp,
		"1 when the app process of the applied release runs, else 0.", nil}
)

// AgentRolloutState and AgentRolloutPercent are the series of the agent's
// own rollout: the app's rollout series with LabelAgent added (same names
// and help, so promote reads both with one query).
var (
	AgentRolloutState   = Series{RolloutState.Name, RolloutState.Help, append(RolloutState.Labels(), LabelAgent)}
	AgentRolloutPercent = Series{RolloutPercent.Name, RolloutPercent.Help, append(RolloutPercent.Labels(), LabelAgent)}
)

// All is every series of the contract.
func All() []Series {
	return []Series{HostInfo, AppliedInfo, RolloutState, RolloutPercent, LastPoll, LastErrorInfo, AppUp}
}
