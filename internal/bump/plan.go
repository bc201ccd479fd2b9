package bump

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/jsonedit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Release is a version and its artifacts: what bump reports as old and new.
type Release struct {
	Version string              `json:"version"`
	Bin     *reconcile.Artifact `json:"bin"`
	Cfg     *reconcile.Artifact `json:"cfg,omitempty"`
}

func releaseOf(d reconcile.Desired) Release {
	return Release{Version: d.Version, Bin: d.Bin, Cfg: d.Cfg}
}

// state is what one read of the branch found.
type state struct {
	head string
	data []byte // the file at the head
	cur  reconcile.Desired
	// seen are the releases the file named at the head and in the history
	// read (top level and rollout.from), with the commit naming each.
	seen        []seenRelease
	lastRollout *reconcile.Rollout // the newest rollout block in the history read
	// repoFiles holds, for each repo path a source commits, the bytes
	// there at the head; nil when there is no such file.
	repoFiles map[string][]byte
}

type seenRelease struct {
	rev string
	rel Release
}

// target is the release asked for, its artifacts resolved.
type target struct {
	version  string
	bin, cfg resolved
}

// plan is what a bump commits: the file's new bytes, the other files, the
// message; or that nothing changes.
type plan struct {
	old, next reconcile.Desired
	data      []byte
	files     []gitsrc.File
	message   string
	noChange  bool
	rollout   string // the id of the rollout started
}

// makePlan decides the edit: a pure function of what was read and what
// was asked, so the dry run shows exactly what would be pushed.
func makePlan(st state, req Request, t target) (plan, error) {
	p := plan{old: st.cur, next: st.cur}
	p.next.Version, p.next.Bin = t.version, t.bin.art
	if t.cfg.art != nil {
		p.next.Cfg = t.cfg.art
	}
	if err := checkImmutable(st, req, p.next); err != nil {
		return p, err
	}
	files, err := repoFiles(st, req, t)
	if err != nil {
		return p, err
	}
	if sameRelease(releaseOf(st.cur), releaseOf(p.next)) && len(files) == 0 {
		p.noChange = true
		return p, nil
	}
	edits := releaseEdits(st.cur, p.next)
	switch {
	case req.Rollout:
		if st.cur.Version == p.next.Version {
			return p, usage(fmt.Errorf("--rollout: %s already says version %s; a rollout goes from the release being replaced to a new version", req.Path, p.next.Version))
		}
		p.next.Rollout = newRollout(st, req, p.next.Version)
		p.rollout = p.next.WaveID()
		edits = append(edits, jsonedit.Edit{Path: []string{"rollout"}, Value: p.next.Rollout})
	case st.cur.Rollout != nil:
		p.next.Rollout = nil // the new release goes everywhere
		edits = append(edits, jsonedit.Edit{Path: []string{"rollout"}, Delete: true})
	}
	if p.data, err = jsonedit.Apply(st.data, edits...); err != nil {
		return p, fmt.Errorf("edit %s: %w", req.Path, err)
	}
	if err := checkWritten(req.Path, p.data, p.next); err != nil {
		return p, err
	}
	p.files = append([]gitsrc.File{{Path: req.Path, Data: p.data}}, files...)
	p.message = message(req, st.cur, p)
	return p, nil
}

// checkWritten parses the new file as agents will, and makes sure it says
// what was meant.
func checkWritten(path string, data []byte, want reconcile.Desired) error {
	got, err := reconcile.ParseDesired(path, data)
	if err != nil {
		return fmt.Errorf("the edited file would not deploy: %w", err)
	}
	if err := want.Validate(); err != nil { // lower-cases digests as the parse does
		return fmt.Errorf("the edited file would not deploy: %s: %w", path, err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("edit %s: the file reads back as %+v, not as meant", path, got)
	}
	return nil
}

// releaseEdits are the smallest edits from cur's release to next's: a
// value that stays is not touched, and an artifact of the same form has
// only its changed keys replaced.
func releaseEdits(cur, next reconcile.Desired) []jsonedit.Edit {
	var edits []jsonedit.Edit
	if cur.Version != next.Version {
		edits = append(edits, jsonedit.Edit{Path: []string{"version"}, Value: next.Version})
	}
	edits = append(edits, artifactEdits("bin", cur.Bin, next.Bin)...)
	return append(edits, artifactEdits("cfg", cur.Cfg, next.Cfg)...)
}

func artifactEdits(key string, cur, next *reconcile.Artifact) []jsonedit.Edit {
	switch {
	case reflect.DeepEqual(cur, next):
		return nil
	case next == nil:
		return []jsonedit.Edit{{Path: []string{key}, Delete: true}}
	case cur == nil || keysOf(*cur) != keysOf(*next):
		// another form (url, oci, s3, path; an oci "file" or none): the
		// whole artifact is written anew
		return []jsonedit.Edit{{Path: []string{key}, Value: next}}
	}
	var edits []jsonedit.Edit
	for _, v := range []struct{ name, was, is string }{
		{"url", cur.URL, next.URL}, {"oci", cur.OCI, next.OCI}, {"file", cur.File, next.File},
		{"s3", cur.S3, next.S3}, {"sha256", cur.SHA256, next.SHA256}, {"path", cur.Path, next.Path},
	} {
		if v.was != v.is {
			edits = append(edits, jsonedit.Edit{Path: []string{key, v.name}, Value: v.is})
		}
	}
	return edits
}

// keysOf is which keys an artifact gives, as a bit set.
func keysOf(a reconcile.Artifact) int {
	n := 0
	for i, v := range []string{a.URL, a.OCI, a.File, a.S3, a.SHA256, a.Path} {
		if v != "" {
			n |= 1 << i
		}
	}
	return n
}

// sameArtifact compares what two artifacts name: the digest of a URL (the
// same bytes may move), the path of a repo file (its bytes are checked
// where it is committed).
func sameArtifact(a, b *reconcile.Artifact) bool {
	switch {
	case a == nil || b == nil:
		return a == b
	case a.FromRepo() || b.FromRepo():
		return a.Path == b.Path
	}
	return a.SHA256 == b.SHA256
}

func sameRelease(a, b Release) bool {
	return a.Version == b.Version && reflect.DeepEqual(a.Bin, b.Bin) && reflect.DeepEqual(a.Cfg, b.Cfg)
}

// checkImmutable refuses a version that the file named, at the head or in
// the history read, with other artifacts.
func checkImmutable(st state, req Request, next reconcile.Desired) error {
	for _, s := range st.seen {
		if s.rel.Version != next.Version {
			continue
		}
		for _, a := range []struct {
			key       string
			was, want *reconcile.Artifact
		}{{"bin", s.rel.Bin, next.Bin}, {"cfg", s.rel.Cfg, next.Cfg}} {
			if !sameArtifact(a.was, a.want) {
				return fmt.Errorf("%w: %s at %.12s says version %s with another %s (%s); publish a new version",
					ErrImmutable, req.Path, s.rev, next.Version, a.key, describe(a.was))
			}
		}
	}
	return nil
}

func describe(a *reconcile.Artifact) string {
	switch {
	case a == nil:
		return "none"
	case a.FromRepo():
		return "path " + a.Path
	}
	return "sha256 " + a.SHA256
}

// repoFiles are the files to commit with the bump: a repo file already
// holding the bytes is left alone; one holding other bytes is refused.
func repoFiles(st state, req Request, t target) ([]gitsrc.File, error) {
	var out []gitsrc.File
	for _, f := range []*gitsrc.File{t.bin.file, t.cfg.file} {
		if f == nil {
			continue
		}
		old, ok := st.repoFiles[f.Path]
		switch {
		case !ok || old == nil:
			out = append(out, *f)
		case !bytes.Equal(old, f.Data):
			return nil, fmt.Errorf("%w: %s already holds other bytes at %.12s; commit version %s under a new path", ErrImmutable, f.Path, st.head, t.version)
		}
	}
	return out, nil
}

// message is --message, or "<app>: <old> -> <new>".
func message(req Request, cur reconcile.Desired, p plan) string {
	if req.Message != "" {
		return req.Message
	}
	msg := fmt.Sprintf("%s: %s -> %s", App(req.Path), cur.Version, p.next.Version)
	switch {
	case p.rollout != "":
		msg += fmt.Sprintf(" (rollout %s at %v%%)", p.rollout, *p.next.Rollout.Percent)
	case cur.Version == p.next.Version:
		msg = fmt.Sprintf("%s: %s, artifacts changed", App(req.Path), cur.Version)
	}
	return msg
}
