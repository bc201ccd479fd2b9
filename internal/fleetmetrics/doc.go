// Package fleetmetrics is the contract between an agent and `reconciler
// promote` (and `fleet`): the series an agent exports that promote reads
// back from Prometheus, their labels, and the rollout states
// (docs/reference.md, "Metrics"). The agent (reconcile), the reader
// (internal/promote) and the test fleets (internal/promtest) all build
// and read these series from here, so the two sides cannot drift apart.
//
// Renaming a series or a label here is a breaking change of the contract:
// dashboards and alerts read the same names.
package fleetmetrics
