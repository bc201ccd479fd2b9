// Package hostid is the one default of a host's id (--host-id): the id
// given, else the host name. The agent's rollout placement, its metrics
// and its notifications all name the host by it, so they cannot disagree.
package hostid
