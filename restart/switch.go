package restart

import (
	"context"
	"fmt"
	"path/filepath"
)

// Switcher makes an app directory run a release.
type Switcher struct {
	Dir string // the app directory, absolute
}

// Switch points app.bin at bin and app.cfg at cfg (absolute paths inside
// Dir/release; cfg may be empty: app.cfg is then left alone). The binary
// link is swapped last, so an app started between the two renames never
// runs the new binary with the old config's link missing.
func (s Switcher) Switch(ctx context.Context, bin, cfg string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CleanLinks(s.Dir); err != nil {
		return fmt.Errorf("clean temporary links: %w", err)
	}
	if cfg != "" {
		if err := Swap(s.Dir, "app.cfg", s.rel(cfg)); err != nil {
			return err
		}
	}
	return Swap(s.Dir, "app.bin", s.rel(bin))
}

// rel makes the link target relative to the app dir, so the directory can
// be moved or bind-mounted elsewhere.
func (s Switcher) rel(p string) string {
	if r, err := filepath.Rel(s.Dir, p); err == nil && filepath.IsLocal(r) {
		return r
	}
	return p
}
