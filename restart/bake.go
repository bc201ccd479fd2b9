package restart

import (
	"context"
	"fmt"
	"time"
)

// bake watches a release that came up healthy for HealthBake: the process
// found serving must stay alive and on the new binary, and the checks are
// run again every bakeInterval. The first failure ends the bake with an
// error, which Switch treats as an unhealthy release. The bake starts after
// the health check passed and is not part of HealthTimeout.
func (s *Switcher) bake(ctx context.Context, t target) error {
	if s.HealthBake <= 0 {
		return nil
	}
	pid, ok := s.serving(t.Bin)
	if !ok {
		return fmt.Errorf("%w before --health-bake began%s", errGone, logTail(s.Dir))
	}
	s.log().Info("baking the release", "pid", pid, "bin", s.rel(t.Bin), "bake", s.HealthBake)
	bctx, cancel := context.WithTimeout(ctx, s.HealthBake)
	defer cancel()
	client := s.client()
	var failed error
	_ = poll(bctx, s.bakeInterval(), func() (bool, error) {
		if p, ok := s.finder().inspect(pid); !ok || p.Exe != t.Bin {
			failed = fmt.Errorf("%w (pid %d) during --health-bake %s%s", errGone, pid, s.HealthBake, logTail(s.Dir))
			return false, failed
		}
		// The checks' own deadlines, not the bake's: a check cut short
		// by the end of the bake is no failure of the release.
		if err := s.checks(ctx, client, t); err != nil && bctx.Err() == nil {
			failed = fmt.Errorf("during --health-bake %s: %w", s.HealthBake, err)
			return false, failed
		}
		return false, nil
	})
	if failed == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if failed == nil {
		s.log().Info("release baked", "pid", pid, "bin", s.rel(t.Bin))
	}
	return failed
}

// bakeInterval is how often the bake looks: every second, or ten times
// over a shorter bake.
func (s *Switcher) bakeInterval() time.Duration {
	return max(min(time.Second, s.HealthBake/10), 50*time.Millisecond)
}

// serving is the youngest process of this directory when it runs bin.
func (s *Switcher) serving(bin string) (int, bool) {
	procs, err := s.finder().Find()
	if err != nil || len(procs) == 0 || procs[0].Exe != bin {
		return 0, false
	}
	return procs[0].PID, true
}
