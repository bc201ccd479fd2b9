package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/errclass"
	"github.com/reconciler-dev/reconciler/internal/gitrev"
)

// errConflict marks a desired state that contradicts what is on disk in a
// way only a person can settle: a released version with other bytes.
var errConflict = errclass.New(errclass.NeedsPerson, "conflicts with the release on disk")

// fileAction is what happens to one release file.
type fileAction string

// Actions of a plan step.
const (
	fetchAction   fileAction = "fetch"   // download from a URL and verify
	installAction fileAction = "install" // write a file of the deploy repo
	reuseAction   fileAction = "reuse"   // already present and verified: nothing to do
)

// fileStep is one release file of the plan.
type fileStep struct {
	Kind   string // "bin" or "cfg"
	Action fileAction
	Origin string // the (redacted) URL, or path@rev in the deploy repo
	URL    string // the real URL (may hold credentials: never print)
	SHA256 string
	Target string // absolute path in release/
	Mode   os.FileMode
	Data   []byte // for Install, unless Stream
	// Stream: an Install whose bytes are streamed from the deploy repo at
	// Rev (RepoPath) when applied, too large to hold (a binary by path).
	Stream   bool
	Rev      string
	RepoPath string
	// Repair: the file on disk was altered after the reconciler installed
	// it (drift); it is rebuilt from the same verified source.
	Repair bool
	// Encrypted: the file was decrypted from the deploy repo (cfg.path
	// ending in .age); its bytes and text are never printed.
	Encrypted bool
}

// linkChange is a link the switch will point elsewhere.
type linkChange struct {
	Link, From, To string
}

// Plan is everything a sync would do; `diff` prints it (Render). Only
// Render, Changes and ShowSecrets are for other packages: the rest is the
// pass's.
type Plan struct {
	layout    Layout
	from      *LocalConf // nil when nothing was applied yet
	to        LocalConf
	steps     []fileStep
	writeConf bool // release/current.conf changes
	links     []linkChange
	doSwitch  bool   // the links switch and the app is brought onto the release
	process   string // in words, what happens to the app process (for diff only)
	appStale  bool   // the app does not run the desired binary
	appPID    int    // the app's pid, 0 when none runs (or not managed)
	cfgDiff   string // unified diff of the config text, if both are text
	// cfgSecret is set when the desired config is encrypted in the deploy
	// repo and differs from the one in use: Render prints the digests, and
	// the text diff only with ShowSecrets.
	cfgSecret *secretChange
	// ShowSecrets makes Render print the text diff of an encrypted config
	// (diff --show-secrets).
	ShowSecrets bool
	// blockedBy, set by Diff, says why Sync would apply nothing although
	// the plan has changes; nil when Sync would apply it.
	blockedBy *blocked
	// judging, set by Diff, is a switch an agent left unjudged: Sync
	// finishes its judgement (health checks, bake) before anything else.
	judging *SwitchRecord
	// wave is this host's place in the desired file's rollout, nil
	// without one: To is then the release the wave gives this host.
	wave *Wave
}

// blocked is why a sync applies nothing: exactly one of Failed, Suspended
// and Deferred is set.
type blocked struct {
	Rev       string
	Failed    *Failed    // the revision failed before
	Suspended *Suspended // a person took manual control
	Deferred  *Deferred  // outside the deploy windows
}

// downloads counts the release files the plan fetches.
func (p Plan) downloads() int {
	n := 0
	for _, s := range p.steps {
		if s.Action == fetchAction {
			n++
		}
	}
	return n
}

// repairs reports whether a release file altered on disk is to be rebuilt.
func (p Plan) repairs() bool {
	for _, s := range p.steps {
		if s.Repair {
			return true
		}
	}
	return false
}

// Changes reports whether the plan changes what the app runs. A plan whose
// only change is the recorded revision (a commit that did not touch this
// app) is in sync.
func (p Plan) Changes() bool {
	if len(p.links) > 0 || p.from == nil || p.appStale {
		return true
	}
	for _, s := range p.steps {
		if s.Action != reuseAction {
			return true
		}
	}
	f := *p.from
	return f.BinFile != p.to.BinFile || f.CfgFile != p.to.CfgFile || f.Version != p.to.Version
}

// Modes of the release files: binaries are executable, configs may hold
// secrets.
const (
	binMode os.FileMode = 0o755
	cfgMode os.FileMode = 0o640
)

// planFrom computes the plan from the desired and the actual state. It is a
// pure function: it reads nothing and writes nothing (observeActual read
// what it needs); Plan.process is left for the engine to describe.
func planFrom(l Layout, src desiredAt, act actual) (Plan, error) {
	d := src.Desired
	p := Plan{layout: l, from: act.Conf, to: l.localConfFor(d, src.Rev), wave: src.Wave}
	bin, err := planStep(l, act, "bin", d.Bin, appdir.BinName(d.Version), binMode)
	if err != nil {
		return Plan{}, err
	}
	if d.Bin.FromRepo() {
		bin.SHA256, bin.Stream, bin.Rev, bin.Origin = src.BinSHA256, true, src.Rev, repoSource(d.Bin, src.Rev)
		if err := checkOnDisk(act, &bin, appdir.BinName(d.Version)); err != nil {
			return Plan{}, err
		}
	}
	p.steps = append(p.steps, bin)
	if d.Cfg != nil {
		cfg, err := planStep(l, act, "cfg", d.Cfg, appdir.CfgName(d.Version), cfgMode)
		if err != nil {
			return Plan{}, err
		}
		if d.Cfg.FromRepo() {
			sum := sha256.Sum256(src.CfgData)
			cfg.SHA256, cfg.Data, cfg.Rev, cfg.Origin = hex.EncodeToString(sum[:]), src.CfgData, src.Rev, repoSource(d.Cfg, src.Rev)
			if err := checkOnDisk(act, &cfg, appdir.CfgName(d.Version)); err != nil {
				return Plan{}, err
			}
		}
		cfg.Encrypted = src.CfgEncrypted
		p.steps = append(p.steps, cfg)
		p.cfgDiff = configDiff(l, act, cfg)
		if cfg.Encrypted {
			p.cfgSecret = newSecretChange(act, cfg, p.cfgDiff)
			p.cfgDiff = "" // the plaintext's text is shown only on request
		}
	}
	p.writeConf = act.Conf == nil || *act.Conf != p.to
	p.links = linkChanges(l, act, p.to)
	p.appStale, p.appPID = act.AppStale, act.AppPID
	p.doSwitch = len(p.links) > 0 || p.Changes()
	return p, nil
}

// secretChange is an encrypted config that changes: the digests of the
// plaintexts, and their text diff for diff --show-secrets.
type secretChange struct {
	OldSHA256, NewSHA256 string // OldSHA256 is "" when no config is in use
	textDiff             string
}

// newSecretChange describes the change of an encrypted config, nil when the
// config in use is already the desired one.
func newSecretChange(act actual, cfg fileStep, text string) *secretChange {
	old := ""
	if act.Conf != nil && act.Conf.CfgFile != "" {
		if act.Conf.CfgFile == cfg.Target && cfg.Action == reuseAction {
			return nil
		}
		old = act.CfgOldSHA256
	}
	if old == cfg.SHA256 {
		return nil
	}
	return &secretChange{OldSHA256: old, NewSHA256: cfg.SHA256, textDiff: text}
}

// planStep plans one release file. A file of the deploy repo gets its
// digest (and content) from the caller, which then checks it against the
// disk again with checkOnDisk.
func planStep(l Layout, act actual, kind string, a *Artifact, name string, mode os.FileMode) (fileStep, error) {
	s := fileStep{Kind: kind, Target: filepath.Join(l.Release(), name), Mode: mode, URL: a.Locator(), SHA256: a.SHA256}
	if a.FromRepo() {
		s.Action, s.RepoPath = installAction, a.Path
		return s, nil
	}
	s.Origin, s.Action = a.Origin(), fetchAction
	return s, checkOnDisk(act, &s, name)
}

// checkOnDisk compares the step's digest with the release file on disk:
// present with these bytes is a Reuse, altered after we installed it is a
// Repair (drift), any other bytes are a conflict (a released version is
// immutable).
func checkOnDisk(act actual, s *fileStep, name string) error {
	fs := act.Files[name]
	switch {
	case fs.Err != nil:
		return fmt.Errorf("release/%s: %w: %v", name, errConflict, fs.Err)
	case fs.Exists && fs.SHA256 != s.SHA256 && act.State.Releases[name] == s.SHA256:
		// We installed these very bytes, and they changed on disk: drift.
		s.Repair = true
	case fs.Exists && fs.SHA256 != s.SHA256:
		return fmt.Errorf("release/%s: %w: it holds sha256 %s, the desired %s is %s; a released version is immutable, bump the version",
			name, errConflict, fs.SHA256, s.Kind, s.SHA256)
	case fs.Exists:
		s.Action = reuseAction
	}
	return nil
}

// repoSource names a file of the deploy repo for people: path@rev.
func repoSource(a *Artifact, rev string) string {
	return fmt.Sprintf("%s@%s", a.Path, short(rev))
}

func linkChanges(l Layout, act actual, to LocalConf) []linkChange {
	var out []linkChange
	want := map[string]string{appdir.BinLink: appdir.Rel(l.Dir, to.BinFile), appdir.CfgLink: appdir.Rel(l.Dir, to.CfgFile)}
	for _, name := range []string{appdir.BinLink, appdir.CfgLink} {
		if name == appdir.CfgLink && to.CfgFile == "" {
			continue // no config desired: the switch leaves app.cfg alone
		}
		if act.Links[name] != want[name] && !appdir.SameTarget(l.Dir, act.Links[name], want[name]) {
			out = append(out, linkChange{Link: name, From: act.Links[name], To: want[name]})
		}
	}
	return out
}

// short is the one short revision (internal/gitrev), by this package's name.
func short(rev string) string { return gitrev.Short(rev) }
