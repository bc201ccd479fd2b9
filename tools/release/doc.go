// Command release builds reconciler's release files from a clone: for
// linux/amd64 and linux/arm64 a .deb, an .rpm and a .tar.gz, and
// SHA256SUMS over them all. Run it from the clone's root:
//
//	go run -C tools/release . -version 1.2.3
//
// (-C: the tool is a module of its own, so that nfpm, which writes the
// packages in pure Go, never enters the agent's go.mod; paths given to it
// are relative to tools/release, and its defaults point at the clone's root:
// -src ../.. and -out ../../dist).
//
// The agent is built by `go build` on the main module: CGO_ENABLED=0,
// -trimpath, stripped (-s -w), an empty build id, and the version, commit
// and date stamped with -X main.version, main.commit and main.date (the
// linker ignores a -X of a variable a build does not have). Every time in
// the output (the stamped date, file mtimes in the packages and tarballs,
// gzip headers, man pages' dates) is SOURCE_DATE_EPOCH, else the commit's
// time: two runs on one commit give byte-identical files.
//
// The systemd units are packaging/systemd/*.service, the one copy the
// README's docs point to. The maintainer scripts (scripts/) are written as
// Debian's own helpers write them: deb-systemd-helper and deb-systemd-invoke,
// guarded by [ -d /run/systemd/system ], so that an install works without
// systemd running. lintian's overrides live in lintian.go, each with its
// reason.
package main
