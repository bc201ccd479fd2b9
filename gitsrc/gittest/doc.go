// Package gittest builds real git repositories and real git servers for
// tests: a repository made with the git CLI, served over file://, over git
// smart HTTP (git http-backend behind net/http/cgi), or by a server that
// never answers.
//
// Everything is deterministic and isolated: commits get a fixed identity and
// a clock that advances one second per git invocation, HOME and the global and
// system git configuration are replaced, so the developer's ~/.gitconfig
// (signing, hooks, templates, default branch) cannot change a test. Every
// resource is released through t.Cleanup.
//
// The helpers call t.Fatal on any failure, so they must be called from the
// test's goroutine.
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package gittest
