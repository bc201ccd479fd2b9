package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/fsx"
)

// unswitch undoes a directory's first switch, whose release did not come
// up: there is no release to point at, so app.bin goes (and app.cfg, unless
// it was there before: prevCfg), and a process of the failed release still
// running is stopped. A link always points at a release when it exists;
// with no good release there is none, which is what an operator finds in a
// directory that was never deployed, and what the next switch starts from.
func (s *Switcher) unswitch(ctx context.Context, prevCfg string) error {
	var errs []error
	if procs, err := s.finder().Find(); err != nil {
		errs = append(errs, err)
	} else if len(procs) > 0 {
		errs = append(errs, s.stop(ctx, procs))
	}
	links := []string{appdir.BinLink}
	if prevCfg == "" {
		links = append(links, appdir.CfgLink)
	} else if err := Swap(s.Dir, appdir.CfgLink, s.rel(prevCfg)); err != nil {
		errs = append(errs, err)
	}
	for _, l := range links {
		if err := os.Remove(filepath.Join(s.Dir, l)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", l, err))
		}
	}
	if err := fsx.SyncDir(s.Dir); err != nil {
		errs = append(errs, err)
	}
	s.log().Warn("the first release did not come up and there is none to switch back to: removed the links", "links", links)
	return errors.Join(errs...)
}
