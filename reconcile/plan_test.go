package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestMakePlan(t *testing.T) {
	l := Layout{Dir: "/srv/web"}
	cfgV2 := []byte("port = 8080\nlevel = debug\n")
	desired := Desired{Version: "2.0", Bin: &Artifact{URL: "https://user:tok@a.example/web-2.0", SHA256: goodSum}, Cfg: &Artifact{Path: "web/cfg-2.0"}}
	src := desiredAt{Rev: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Desired: desired, CfgData: cfgV2}
	v1 := LocalConf{BinFile: "/srv/web/release/app.1.0", CfgFile: "/srv/web/release/cfg.1.0", Version: "1.0", Revision: "aaaa"}
	links1 := map[string]string{"app.bin": "release/app.1.0", "app.cfg": "release/cfg.1.0"}
	links2 := map[string]string{"app.bin": "release/app.2.0", "app.cfg": "release/cfg.2.0"}
	v2 := l.localConfFor(desired, src.Rev)

	t.Run("upgrade downloads, installs, switches", func(t *testing.T) {
		act := actual{Conf: &v1, Links: links1, Files: map[string]fileState{}, CfgOld: []byte("port = 8080\nlevel = info\n")}
		p, err := planFrom(l, src, act)
		if err != nil {
			t.Fatal(err)
		}
		if got := []fileAction{p.steps[0].Action, p.steps[1].Action}; got[0] != fetchAction || got[1] != installAction {
			t.Errorf("got actions %v, want fetch, install", got)
		}
		if strings.Contains(p.steps[0].Origin, "tok") {
			t.Errorf("got source %q, want the token redacted", p.steps[0].Origin)
		}
		if p.steps[1].SHA256 != sum(cfgV2) {
			t.Errorf("got cfg digest %s, want %s", p.steps[1].SHA256, sum(cfgV2))
		}
		if !p.Changes() || !p.writeConf || len(p.links) != 2 || !p.doSwitch {
			t.Errorf("got changes=%v write=%v links=%v switch=%v, want a full switch", p.Changes(), p.writeConf, p.links, p.doSwitch)
		}
		if !strings.Contains(p.cfgDiff, "-level = info") || !strings.Contains(p.cfgDiff, "+level = debug") {
			t.Errorf("got config diff %q, want the changed line", p.cfgDiff)
		}
	})
	t.Run("rollback to a kept version downloads nothing", func(t *testing.T) {
		act := actual{Conf: &v1, Links: links1, Files: map[string]fileState{
			"app.2.0": {Exists: true, SHA256: goodSum}, "cfg.2.0": {Exists: true, SHA256: sum(cfgV2)}}}
		p, err := planFrom(l, src, act)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.steps {
			if s.Action != reuseAction {
				t.Errorf("got %s %s, want reuse", s.Action, s.Kind)
			}
		}
		if !p.Changes() {
			t.Error("got no changes, want a switch")
		}
	})
	t.Run("in sync", func(t *testing.T) {
		act := actual{Conf: &v2, Links: links2, Files: map[string]fileState{
			"app.2.0": {Exists: true, SHA256: goodSum}, "cfg.2.0": {Exists: true, SHA256: sum(cfgV2)}}}
		p, err := planFrom(l, src, act)
		if err != nil {
			t.Fatal(err)
		}
		if p.Changes() || p.writeConf || p.doSwitch {
			t.Errorf("got changes=%v write=%v switch=%v, want nothing to do", p.Changes(), p.writeConf, p.doSwitch)
		}
	})
	t.Run("revision-only change is in sync but rewrites current.conf", func(t *testing.T) {
		old := v2
		old.Revision = "cccc"
		act := actual{Conf: &old, Links: links2, Files: map[string]fileState{
			"app.2.0": {Exists: true, SHA256: goodSum}, "cfg.2.0": {Exists: true, SHA256: sum(cfgV2)}}}
		p, _ := planFrom(l, src, act)
		if p.Changes() || !p.writeConf || p.doSwitch {
			t.Errorf("got changes=%v write=%v switch=%v, want only the conf rewritten", p.Changes(), p.writeConf, p.doSwitch)
		}
	})
	t.Run("changed artifact under an existing version", func(t *testing.T) {
		act := actual{Conf: &v1, Links: links1, Files: map[string]fileState{"app.2.0": {Exists: true, SHA256: sum([]byte("other"))}}}
		_, err := planFrom(l, src, act)
		if !errors.Is(err, errConflict) || !strings.Contains(err.Error(), "release/app.2.0") || !strings.Contains(err.Error(), "immutable") {
			t.Fatalf("got %v, want ErrConflict naming release/app.2.0", err)
		}
	})
	t.Run("changed config under an existing version", func(t *testing.T) {
		act := actual{Conf: &v1, Links: links1, Files: map[string]fileState{
			"app.2.0": {Exists: true, SHA256: goodSum}, "cfg.2.0": {Exists: true, SHA256: sum([]byte("old"))}}}
		_, err := planFrom(l, src, act)
		if !errors.Is(err, errConflict) || !strings.Contains(err.Error(), "release/cfg.2.0") {
			t.Fatalf("got %v, want ErrConflict naming release/cfg.2.0", err)
		}
	})
	t.Run("first deploy", func(t *testing.T) {
		p, err := planFrom(l, src, actual{Files: map[string]fileState{}, Links: map[string]string{}})
		if err != nil || !p.Changes() || p.from != nil {
			t.Fatalf("got %+v, %v; want a first deploy", p, err)
		}
	})
}

// TestMakePlanWithoutCfgLeavesAppCfg: a desired state without cfg does not
// plan to move app.cfg (the switch leaves it alone), so a release without
// a config is in sync once applied instead of switching at every poll.
func TestMakePlanWithoutCfgLeavesAppCfg(t *testing.T) {
	l := Layout{Dir: "/srv/web"}
	desired := Desired{Version: "2.0", Bin: &Artifact{URL: "https://a.example/web-2.0", SHA256: goodSum}}
	src := desiredAt{Rev: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Desired: desired}
	to := l.localConfFor(desired, src.Rev)
	act := actual{Conf: &to, Links: map[string]string{"app.bin": "release/app.2.0", "app.cfg": "release/cfg.1.0"},
		Files: map[string]fileState{"app.2.0": {Exists: true, SHA256: goodSum}}}
	p, err := planFrom(l, src, act)
	if err != nil {
		t.Fatal(err)
	}
	if p.Changes() || len(p.links) != 0 || p.doSwitch {
		t.Errorf("got links %v, switch %v, want nothing to do", p.links, p.doSwitch)
	}
}
