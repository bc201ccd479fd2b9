package reconcile

import (
	"bytes"
	"unicode/utf8"

	"github.com/reconciler-dev/reconciler/internal/linediff"
)

// maxDiffSize bounds the config files `diff` shows as text.
const maxDiffSize = 256 << 10

// configDiff renders a unified diff between the config in use and the
// desired one, when both are known and are text. A config that comes from a
// URL and is not on disk yet is not downloaded by a dry run.
func configDiff(l Layout, act actual, cfg fileStep) string {
	newData := cfg.Data
	if newData == nil {
		newData = act.CfgNew
	}
	oldName := "/dev/null"
	if act.Conf != nil && act.Conf.CfgFile != "" {
		oldName = l.Rel(act.Conf.CfgFile)
		if act.Conf.CfgFile == cfg.Target {
			return ""
		}
	}
	if newData == nil || !isText(newData) || !isText(act.CfgOld) || bytes.Equal(act.CfgOld, newData) {
		return ""
	}
	return linediff.Unified(oldName, l.Rel(cfg.Target), act.CfgOld, newData)
}

func isText(b []byte) bool {
	return utf8.Valid(b) && !bytes.ContainsRune(b, 0) && int64(len(b)) <= maxDiffSize
}
