package reconcile

import (
	"strings"
	"testing"
)

// TestConfigDiff: the config in use and the desired one are diffed under
// their names in the directory; a first config is diffed from /dev/null;
// the same file, a binary or an unknown (not downloaded) config gives none.
func TestConfigDiff(t *testing.T) {
	l := Layout{Dir: "/srv/web"}
	inUse := &LocalConf{CfgFile: "/srv/web/release/cfg.1.0"}
	next := fileStep{Target: "/srv/web/release/cfg.2.0", Data: []byte("level = debug\n")}
	for _, tt := range []struct {
		name string
		act  actual
		step fileStep
		want string // the start of the diff; "" for none
	}{
		{"changed", actual{Conf: inUse, CfgOld: []byte("level = info\n")}, next,
			"--- release/cfg.1.0\n+++ release/cfg.2.0\n@@ -1 +1 @@\n-level = info\n+level = debug\n"},
		{"first config", actual{}, next, "--- /dev/null\n+++ release/cfg.2.0\n@@ -0,0 +1 @@\n+level = debug\n"},
		{"same file", actual{Conf: &LocalConf{CfgFile: next.Target}, CfgOld: []byte("x\n")}, next, ""},
		{"binary", actual{Conf: inUse, CfgOld: []byte("a\x00b")}, next, ""},
		{"not downloaded", actual{Conf: inUse, CfgOld: []byte("a\n")}, fileStep{Target: next.Target}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := configDiff(l, tt.act, tt.step)
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
