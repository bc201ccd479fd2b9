package agentdir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Keep is how many confirmed versions Prune keeps (SPEC: the last 3).
const Keep = 3

// Prune removes from versions/ every version but the Keep newest confirmed
// ones and those of keep (the running one, the one being handed to), and
// forgets the confirmation and install of what it removed. It returns the
// versions removed. A directory under versions/ that is no valid version
// (not made by Install) is left alone.
func (d *Dir) Prune(keep ...string) ([]string, error) {
	var removed []string
	err := d.update(func(s *state) error {
		kept := slices.Clone(keep)
		for i := len(s.Confirmed) - 1; i >= 0 && i >= len(s.Confirmed)-Keep; i-- {
			kept = append(kept, s.Confirmed[i].Version)
		}
		entries, err := os.ReadDir(d.versions())
		if err != nil {
			return fmt.Errorf("agent dir: prune: %w", err)
		}
		for _, e := range entries {
			v := e.Name()
			if !e.IsDir() || checkVersion(v) != nil || slices.Contains(kept, v) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(d.versions(), v)); err != nil {
				return fmt.Errorf("agent dir: prune version %s: %w", v, err)
			}
			removed = append(removed, v)
			s.unconfirm(v)
			delete(s.Installed, v)
		}
		for v := range s.Installed {
			if !slices.Contains(kept, v) {
				delete(s.Installed, v) // its directory was removed by hand
			}
		}
		s.Confirmed = slices.DeleteFunc(s.Confirmed, func(c Confirmed) bool { return !slices.Contains(kept, c.Version) })
		return nil
	})
	return removed, err
}
