package main

import (
	"fmt"
	"time"
)

// maintainer is the Maintainer of the packages.
const maintainer = "reconciler maintainers <maintainers@reconciler.dev>"

const homepage = "https://github.com/reconciler-dev/reconciler"

// copyrightText is /usr/share/doc/reconciler/copyright in Debian's
// machine-readable format.
func copyrightText(year int) string {
	return fmt.Sprintf(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: reconciler
Upstream-Contact: %s
Source: %s

Files: *
Copyright: 2025-%d The reconciler authors
License: Apache-2.0

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
 https://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache version 2.0 license
 can be found in "/usr/share/common-licenses/Apache-2.0".
`, maintainer, homepage, year)
}

// debianChangelog is the Debian changelog of the package: one entry, for
// this version (the project's history is CHANGELOG.md).
func debianChangelog(version, rel string, date time.Time) string {
	return fmt.Sprintf(`reconciler (%s-%s) unstable; urgency=medium

  * Release %s; the changes are in CHANGELOG.md of the source.

 -- %s  %s
`, version, rel, version, maintainer, date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}

// description is the packages' description: a synopsis, then the long text.
const description = `GitOps pull-based deploy agent for plain Linux binaries
reconciler keeps a server's app directory in step with a deploy repo:
deploy is a git commit, rollback a git revert. Every artifact is
sha256-verified and lands in release/ atomically; the app switches by a
graceful re-exec with no dropped request, is health-checked and rolled
back by itself.`
