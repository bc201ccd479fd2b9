package reconcile

import (
	"fmt"
	"io"
	"strings"
)

// Render prints the plan for a person, as `reconciler diff` shows it. Lines
// start with a fixed word so scripts can grep them.
func (p Plan) Render(w io.Writer) error {
	var b strings.Builder
	from := LocalConf{}
	if p.from != nil {
		from = *p.from
	}
	if k := p.blockedBy; k != nil && k.Failed != nil {
		fmt.Fprintf(&b, "blocked   revision %s failed before: %s (sync applies nothing until the deploy repo moves on)\n", short(k.Rev), k.Failed.Reason)
	} else if k != nil && k.Suspended != nil {
		fmt.Fprintf(&b, "blocked   suspended: %s (sync applies nothing until `reconciler resume`)\n", k.Suspended.Reason)
	} else if k != nil && k.Deferred != nil {
		fmt.Fprintf(&b, "blocked   %s: %s (sync applies nothing until then, unless --ignore-windows)\n", ErrDeferred, opensText(k.Deferred.Opens, k.Deferred.Since))
	}
	if r := p.judging; r != nil {
		fmt.Fprintf(&b, "judge     the switch to version %s (revision %s) an agent left unjudged: sync finishes its health checks first, and switches back if they fail\n",
			r.To.Version, orNone(short(r.Revision)))
	}
	fmt.Fprintf(&b, "dir       %s\n", p.layout.Dir)
	fmt.Fprintf(&b, "version   %s -> %s\n", orNone(from.Version), p.to.Version)
	fmt.Fprintf(&b, "revision  %s -> %s\n", orNone(short(from.Revision)), short(p.to.Revision))
	if w := p.wave; w != nil {
		side := "in the wave: runs " + w.Version
		if !w.In {
			side = "outside the wave: runs " + w.From
		}
		fmt.Fprintf(&b, "rollout   %s (%s -> %s at %v%%): host %s, %s; %s\n", w.Rollout, w.From, w.Version, w.Percent, w.HostID, w.Why, side)
	}
	for _, s := range p.steps {
		action := string(s.Action)
		if s.Repair {
			action = "repair" // altered on disk: rebuilt from its verified source
		}
		origin := s.Origin
		if s.Encrypted {
			origin += " (encrypted)"
		}
		fmt.Fprintf(&b, "%-9s %s %s sha256:%s -> %s\n", action, s.Kind, origin, s.SHA256, p.layout.Rel(s.Target))
	}
	if p.writeConf {
		fmt.Fprintf(&b, "write     %s\n", p.layout.Rel(p.layout.CurrentConf()))
	}
	for _, l := range p.links {
		fmt.Fprintf(&b, "link      %s: %s -> %s\n", l.Link, orNone(l.From), orNone(l.To))
	}
	if p.process != "" {
		app := "app not running"
		if p.appPID > 0 {
			app = fmt.Sprintf("app pid %d", p.appPID)
		}
		fmt.Fprintf(&b, "process   %s [%s]\n", p.process, app)
	}
	if !p.Changes() {
		b.WriteString("in sync\n")
	}
	if p.cfgDiff != "" {
		b.WriteString(p.cfgDiff)
	}
	if c := p.cfgSecret; c != nil && p.ShowSecrets && c.textDiff != "" {
		b.WriteString(c.textDiff)
	} else if c != nil {
		fmt.Fprintf(&b, "config    encrypted: sha256 %s -> %s (--show-secrets to see the diff)\n", orNone(c.OldSHA256), c.NewSHA256)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
