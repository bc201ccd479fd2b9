// Package loadgen is a small, bounded HTTP load loop for loopback tests,
// benchmarks and the demo: a few workers send GET requests as fast as the
// server answers and count what failed. It stops by itself when its context
// ends or MaxRequests is reached.
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package loadgen
