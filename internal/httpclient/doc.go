// Package httpclient is the one base of the agent's outgoing HTTP
// transports (artifact downloads, webhooks): what every request to a
// server we do not control needs, so that a new setting reaches both.
// Each caller adds what is its own (artifacts: a header timeout and no
// downgrade redirect; notify: no redirect at all).
package httpclient
