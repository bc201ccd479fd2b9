package selfupdate

import (
	"bytes"
	"encoding/json"
	"os"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// report writes the agent's status (reconcile.AgentStatus) to
// u.StatusFile ("" : nowhere) when it changed: the running version and
// the agent releases recorded failed.
func (u *Updater) report() {
	if u.StatusFile == "" {
		return
	}
	st := reconcile.AgentStatus{Version: u.Running, Revision: u.Revision, PID: os.Getpid()}
	if rec, err := u.Store.Record(); err == nil && len(rec.Failed) > 0 {
		st.Failed = map[string]string{}
		for v, f := range rec.Failed {
			st.Failed[v] = f.Reason
		}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil || bytes.Equal(b, u.reported) {
		return
	}
	if err := artifacts.WriteFileAtomic(u.StatusFile, append(b, '\n'), 0o644); err != nil {
		u.Log.Warn("agent update: status not written", "file", u.StatusFile, "err", err)
		return
	}
	u.reported = b
}
