package selfupdate

import (
	"bytes"
	"encoding/json"
	"os"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// report hands the agent's status (reconcile.AgentStatus) to u.Report
// (nil: nobody) when it changed since the last report that succeeded: the
// running version and the agent releases recorded failed.
func (u *Updater) report() {
	if u.Report == nil {
		return
	}
	st := reconcile.AgentStatus{Version: u.Running, Revision: u.Revision, PID: os.Getpid()}
	if rec, err := u.Store.Record(); err == nil && len(rec.Failed) > 0 {
		st.Failed = map[string]string{}
		for v, f := range rec.Failed {
			st.Failed[v] = f.Reason
		}
	}
	b, err := json.Marshal(st)
	if err != nil || bytes.Equal(b, u.reported) {
		return
	}
	if err := u.Report(st); err != nil {
		u.Log.Warn("agent update: status not written", "err", err)
		return
	}
	u.reported = b
}
