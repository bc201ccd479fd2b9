package agentdir

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/restart"
)

// Choice is the version to run at start.
type Choice struct {
	Version string
	Path    string // versions/<Version>/reconciler, verified
	// Skipped are the confirmed versions passed over, newest first, each
	// with why: for the log.
	Skipped []Skip
}

// Skip is a confirmed version passed over at start.
type Skip struct {
	Version string
	Err     error
}

// ErrTooManyStarts marks a version passed over for its starts without a
// good poll.
var ErrTooManyStarts = errors.New("started without a good poll")

// Choose picks the version to run: the newest confirmed one that can run.
// A confirmed version is passed over, recorded failed and unconfirmed (so
// it is not chosen again until a handover confirms it anew) when it was
// started MaxStarts times in a row without a good poll, or its file does
// not hold the bytes confirmed, is not executable or is built for another
// machine (restart.CheckExecutable); one whose file is missing (removed by
// hand) is unconfirmed. ok is false when no confirmed version can run: the
// caller runs its own binary. It does not count the start (Started does).
func (d *Dir) Choose() (c Choice, ok bool, err error) {
	err = d.update(func(s *state) error {
		c, ok = Choice{}, false
		now := time.Now()
		for i := len(s.Confirmed) - 1; i >= 0; i-- {
			r := s.Confirmed[i]
			why, gone := d.unfit(s, r)
			if why == nil {
				path, _ := d.VersionPath(r.Version)
				c.Version, c.Path, ok = r.Version, path, true
				return nil
			}
			c.Skipped = append(c.Skipped, Skip{Version: r.Version, Err: why})
			s.unconfirm(r.Version)
			if !gone {
				s.fail(r.Version, why.Error(), now)
			}
		}
		return nil
	})
	return c, ok, err
}

// unfit says why the confirmed release r cannot be chosen (nil: it can);
// gone is true when its file is simply missing.
func (d *Dir) unfit(s *state, r Confirmed) (why error, gone bool) {
	if f, failed := s.Failed[r.Version]; failed {
		return fmt.Errorf("recorded failed: %s", f.Reason), false
	}
	if s.Starts.Version == r.Version && s.Starts.Count >= MaxStarts {
		return fmt.Errorf("%w %d times in a row", ErrTooManyStarts, s.Starts.Count), false
	}
	path, err := d.VersionPath(r.Version)
	if err != nil {
		return err, false
	}
	got, err := artifacts.FileSHA256(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s is missing", path), true
	case err != nil:
		return fmt.Errorf("check %s: %w", path, err), false
	case got != r.SHA256:
		return fmt.Errorf("%w: %s has sha256 %s, confirmed with %s", artifacts.ErrDigestMismatch, path, got, r.SHA256), false
	}
	if err := restart.CheckExecutable(path); err != nil {
		return err, false
	}
	return nil, false
}
