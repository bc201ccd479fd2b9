package reconcile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Status is what `reconciler status` shows and GET /status serves.
type Status struct {
	Dir       string            `json:"dir"`
	Version   string            `json:"version,omitempty"`  // from release/current.conf
	Revision  string            `json:"revision,omitempty"` // from release/current.conf
	BinFile   string            `json:"bin_file,omitempty"` // from release/current.conf
	ConfError string            `json:"current_conf_error,omitempty"`
	Links     map[string]string `json:"links"`
	Applied   *Applied          `json:"applied,omitempty"`
	Attempted *Attempted        `json:"attempted,omitempty"`
	LastPoll  *Poll             `json:"last_poll,omitempty"`
	LastError *ErrorInfo        `json:"last_error,omitempty"`
	Failed    []Failed          `json:"failed,omitempty"` // every failure kept, oldest first
	// HeadFailed is the failure that still matters: the revision the
	// followed ref pointed at in the last poll failed.
	HeadFailed *Failed    `json:"head_failed,omitempty"`
	Suspended  *Suspended `json:"suspended,omitempty"`
	// Deferred: the followed revision waits for a deploy window.
	Deferred *Deferred  `json:"deferred,omitempty"`
	App      *AppStatus `json:"app,omitempty"`
	// Judging is the switch whose release has not proved itself yet (the
	// state file's switch record, while its verdict is judging).
	Judging *SwitchRecord `json:"judging,omitempty"`
	// Exits are the app's exits of the last 10 minutes, oldest first.
	Exits []AppExit `json:"exits,omitempty"`
	// Rollout is this host's place in the rollout of the last desired
	// file read; nil without one.
	Rollout *RolloutStatus `json:"rollout,omitempty"`
	// Agent is the agent that updates itself (run --agent-path), as it
	// last reported itself; nil otherwise.
	Agent *AgentStatus `json:"agent,omitempty"`
}

// AppStatus is the app process as found in /proc.
type AppStatus struct {
	PID     int    `json:"pid"`
	Exe     string `json:"exe"`
	Current bool   `json:"current"` // runs the binary release/current.conf names
	Up      bool   `json:"up"`      // runs, and runs that binary (reconciler_app_up)
}

// Healthy reports what `reconciler status` exits 0 for: the app runs the
// applied release, the last poll did not fail, the followed revision did
// not fail (a rollout's failed state included), and the app exited at
// most once in the last 10 minutes. A revision waiting for a deploy
// window is no fault.
func (s Status) Healthy() bool {
	return s.App != nil && s.App.Up && (s.LastPoll == nil || s.LastPoll.Result != PollError) &&
		s.HeadFailed == nil && (s.Rollout == nil || s.Rollout.State != RolloutFailed) && len(s.Exits) <= 1
}

// SetApp records the app's process; pid 0 means none runs.
func (s *Status) SetApp(pid int, exe, binFile string) {
	if pid <= 0 {
		s.App = &AppStatus{}
		return
	}
	cur := exe != "" && exe == binFile
	s.App = &AppStatus{PID: pid, Exe: exe, Current: cur, Up: cur}
}

// ReadStatus gathers the status of the directory without writing anything.
func (l Layout) ReadStatus() (Status, error) {
	if _, err := os.Stat(l.Dir); err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", l.Dir, err)
	}
	st, err := l.LoadState()
	if err != nil {
		return Status{}, err
	}
	s := Status{Dir: l.Dir, Links: map[string]string{}, Applied: st.Applied, Attempted: st.Attempted,
		LastPoll: st.LastPoll, LastError: st.LastError, Failed: st.Failed, Suspended: st.Suspended, Rollout: st.Rollout}
	if f, ok := st.HeadFailure(); ok {
		s.HeadFailed = &f
	}
	if d, ok := st.deferredHead(); ok {
		s.Deferred = &d
	}
	if r := st.Switch; r != nil && r.Verdict == VerdictJudging {
		s.Judging = r
	}
	s.Exits = st.recentExits(time.Now())
	if s.Agent, err = l.readAgentStatus(); err != nil {
		return s, err
	}
	if c, err := l.ReadLocalConf(); err == nil {
		s.Version, s.Revision, s.BinFile = c.Version, c.Revision, c.BinFile
	} else if !errors.Is(err, os.ErrNotExist) {
		s.ConfError = err.Error()
	}
	for _, link := range []string{l.BinLink(), l.CfgLink()} {
		name := l.Rel(link)
		if t, err := os.Readlink(link); err == nil {
			s.Links[name] = t
		} else {
			s.Links[name] = ""
		}
	}
	return s, nil
}

// Render prints the status for a person.
func (s Status) Render(w io.Writer) error {
	var b strings.Builder
	line := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "%-12s %s\n", k+":", fmt.Sprintf(format, args...))
	}
	line("dir", "%s", s.Dir)
	line("version", "%s", orNone(s.Version))
	line("revision", "%s", orNone(s.Revision))
	if s.ConfError != "" {
		line("conf error", "%s", s.ConfError)
	}
	for _, k := range []string{appdir.BinLink, appdir.CfgLink} {
		line(k, "%s", orNone(s.Links[k]))
	}
	if s.App != nil {
		switch {
		case s.App.PID == 0:
			line("app", "not running")
		case s.App.Current:
			line("app", "pid %d, runs the current binary", s.App.PID)
		default:
			line("app", "pid %d, runs %s, NOT the current binary", s.App.PID, s.App.Exe)
		}
	}
	if r := s.Judging; r != nil {
		line("judging", "%s at %s, switched from %s (%s): not applied until it proves itself (health checks, bake)",
			r.To.Version, orNone(short(r.Revision)), orNone(r.From.version()), ago(r.Started))
	}
	for _, x := range s.Exits {
		line("exited", "pid %d (version %s): %s (%s)", x.PID, orNone(x.Version), x.Status, ago(x.Time))
	}
	if s.Applied != nil {
		line("applied", "%s at %s (%s)", s.Applied.Version, short(s.Applied.Revision), ago(s.Applied.Time))
	}
	if s.Attempted != nil && (s.Applied == nil || s.Attempted.Revision != s.Applied.Revision) {
		line("attempted", "%s at %s (%s)", s.Attempted.Version, short(s.Attempted.Revision), ago(s.Attempted.Time))
	}
	if s.LastPoll != nil {
		line("last poll", "%s, %s", s.LastPoll.Result, ago(s.LastPoll.Time))
	} else {
		line("last poll", "never")
	}
	if s.LastError != nil {
		line("last error", "%s (%s)", s.LastError.Message, ago(s.LastError.Time))
		if s.LastError.Class == ClassNeedsPerson {
			line("needs", "a person: no wait fixes this (bad input, credentials or trust); polled again on the schedule")
		}
	}
	if f := s.HeadFailed; f != nil {
		line("failing", "%s version %s: %s (%s); not applied until the deploy repo moves on, or `reconciler retry --dir %s`",
			short(f.Revision), f.Version, f.Reason, ago(f.Time), s.Dir)
	}
	for _, f := range s.Failed {
		if s.HeadFailed == nil || f.Revision != s.HeadFailed.Revision {
			line("failed before", "%s version %s: %s (%s)", short(f.Revision), f.Version, f.Reason, ago(f.Time))
		}
	}
	if s.Suspended != nil {
		line("suspended", "%s (%s)", s.Suspended.Reason, ago(s.Suspended.Time))
	}
	if r := s.Rollout; r != nil {
		line("rollout", "%s: %s -> %s at %v%%; host %s, bucket %d: %s (%s)", r.Rollout, r.From, r.Version, r.Percent, r.HostID, r.Bucket, r.State, r.Why)
		if r.Halted != nil {
			line("halted", "%s (%s)", r.Halted.Reason, ago(r.Halted.Time))
		}
	}
	if a := s.Agent; a != nil {
		for _, l := range a.Lines() {
			line(l[0], "%s", l[1])
		}
	}
	if d := s.Deferred; d != nil {
		line("deferred", "version %s at %s, outside the deploy windows since %s; they open %s",
			d.Version, short(d.Revision), ago(d.Since), until(d.Opens))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// until says when a time to come is, or was.
func until(t time.Time) string {
	if t.IsZero() {
		return "not within a year"
	}
	d := time.Until(t).Round(time.Second)
	if d < 0 {
		return fmt.Sprintf("at %s, %s ago (the next poll deploys)", t.UTC().Format(time.RFC3339), -d)
	}
	return fmt.Sprintf("at %s, in %s", t.UTC().Format(time.RFC3339), d)
}

func ago(t time.Time) string {
	return fmt.Sprintf("%s, %s ago", t.UTC().Format(time.RFC3339), time.Since(t).Round(time.Second))
}
