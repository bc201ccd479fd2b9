// Package nginxtest runs a real nginx (Debian's nginx binary) on
// 127.0.0.1 in front of a git smart-HTTP server, with or without the
// ls-refs micro-cache of docs/nginx/git-cache.conf, for tests and for the
// bench's cache rows. As in testkit and promtest, Start needs no
// testing.TB; New and Require are the test forms.
//
// nginx runs as a child in a directory of its own (prefix, pid file,
// temporary paths, cache, error log: -p DIR -c FILE -e LOG -g 'daemon
// off;'), a single worker, and is stopped by Close. Run as root, it runs
// as nobody, in a directory made under the system's temporary directory
// and given to nobody, so no worker ever holds root's rights.
//
// The snippet is included as it stands, from the one file the README
// quotes: what the tests prove about the cache is what the README tells
// users to write. Only the cache zone's proxy_cache_path (a path of the
// test's) and the server block around it are generated.
//
// Tenants is a git host that lets each credential read only its own
// repositories, for proving that a cache keyed on the credentials never
// serves one tenant's answer to another.
//
// cmd/reconciler must never import this package (test and bench only).
package nginxtest
