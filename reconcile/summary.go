package reconcile

import (
	"fmt"
	"strings"
	"time"
)

// Summary is the status in one line, for a list of apps (`status
// --apps-dir`): the version and revision applied, the app's process, the
// last poll, then what needs a look (the last error, a failing revision,
// a suspension). Render has the whole of it.
func (s Status) Summary() string {
	parts := []string{fmt.Sprintf("version %s at %s", orNone(s.Version), orNone(short(s.Revision)))}
	switch {
	case s.App == nil:
	case s.App.PID == 0:
		parts = append(parts, "app not running")
	case s.App.Current:
		parts = append(parts, fmt.Sprintf("app pid %d", s.App.PID))
	default:
		parts = append(parts, fmt.Sprintf("app pid %d NOT on the current binary", s.App.PID))
	}
	if s.LastPoll != nil {
		parts = append(parts, fmt.Sprintf("last poll %s %s ago", s.LastPoll.Result, time.Since(s.LastPoll.Time).Round(time.Second)))
	} else {
		parts = append(parts, "never polled")
	}
	if s.LastError != nil {
		parts = append(parts, "last error: "+strings.ReplaceAll(s.LastError.Message, "\n", " "))
	}
	if f := s.HeadFailed; f != nil {
		parts = append(parts, fmt.Sprintf("failing: %s version %s", short(f.Revision), f.Version))
	}
	if s.Suspended != nil {
		parts = append(parts, "suspended: "+s.Suspended.Reason)
	}
	return strings.Join(parts, "; ")
}
