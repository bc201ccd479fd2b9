package main

// lintianOverrides is /usr/share/lintian/overrides/reconciler: the tags
// lintian reports on our .deb that are right for it, each with its reason.
//
//   - statically-linked-binary: the agent is built with CGO_ENABLED=0 on
//     purpose: one binary that runs on any glibc or musl system, with no
//     shared library to break an agent that must fix the host it runs on.
//   - initial-upload-closes-no-bugs: the package is not uploaded to Debian's
//     archive, so there is no ITP bug for its changelog to close.
const lintianOverrides = `# Built with CGO_ENABLED=0 on purpose: it runs without any shared library.
reconciler: statically-linked-binary [usr/bin/reconciler]
# Not uploaded to Debian's archive: there is no ITP bug to close.
reconciler: initial-upload-closes-no-bugs [usr/share/doc/reconciler/changelog.Debian.gz:1]
`
