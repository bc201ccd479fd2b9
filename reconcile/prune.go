package reconcile

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// prune removes old releases beyond Keep after a successful switch. The
// running release (p.To) and the previous one (p.From) are never removed,
// whatever Keep says. Failed releases go first; the others by install time
// (the binary's modification time, set when it was written), oldest first.
func (e *Engine) prune(p Plan, st *State) {
	rel := e.Layout.Release()
	entries, err := os.ReadDir(rel)
	if err != nil {
		return
	}
	newest := map[string]time.Time{}
	for _, en := range entries {
		v, ok := releaseVersion(en.Name())
		if !ok {
			continue
		}
		if fi, err := en.Info(); err == nil && fi.ModTime().After(newest[v]) {
			newest[v] = fi.ModTime()
		}
	}
	versions := make([]string, 0, len(newest))
	for v := range newest {
		versions = append(versions, v)
	}
	// Good releases first, newest first, then failed ones: a failed
	// release goes before any good one (a revert to a good one must not
	// download it again).
	failed := map[string]bool{}
	for _, f := range st.Failed {
		failed[f.Version] = true
	}
	sort.Slice(versions, func(i, j int) bool {
		if failed[versions[i]] != failed[versions[j]] {
			return !failed[versions[i]]
		}
		return newest[versions[i]].After(newest[versions[j]])
	})
	protect := map[string]bool{p.to.Version: true}
	if p.from != nil {
		protect[p.from.Version] = true
	}
	kept := 0
	for _, v := range versions {
		if protect[v] || kept < e.Keep-len(protect) {
			if !protect[v] {
				kept++
			}
			continue
		}
		for _, name := range []string{appdir.BinName(v), appdir.CfgName(v)} {
			if err := os.Remove(filepath.Join(rel, name)); err == nil {
				delete(st.Releases, name)
			}
		}
		e.log().Info("pruned old release", "version", v, "keep", e.Keep)
	}
}

// releaseVersion returns the version a release file name belongs to.
func releaseVersion(name string) (string, bool) {
	if strings.HasPrefix(name, ".") || isRepairFile(name) {
		return "", false
	}
	if v, ok := appdir.FileVersion(name); ok && versionRE.MatchString(v) {
		return v, true
	}
	return "", false
}
