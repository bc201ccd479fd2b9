package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/spf13/pflag"
)

// agentRetryFlags are retry's --agent and --agent-dir.
type agentRetryFlags struct {
	on  bool
	dir string
}

func (a *agentRetryFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&a.on, "agent", false, "forget the failed releases of the agent itself (in --agent-dir) instead of an app's failed revision")
	fs.StringVar(&a.dir, "agent-dir", "", "the agent's own releases (default $STATE_DIRECTORY/agent, else /var/lib/reconciler/agent)")
}

// retryAgent forgets the agent releases recorded failed in the agent dir
// (and the count of starts without a good poll). It writes the record
// itself, under the agent dir's lock, rather than handing a request to the
// running agent: the record is made to be shared by every process that
// uses the dir (each change is read, change, atomic write under its
// flock), and the agent reads it afresh at each poll, so the next poll
// tries the version again whoever runs, and no agent needs to be reached.
func retryAgent(stdout io.Writer, dir string) error {
	if dir == "" {
		dir = agentdir.DefaultDir(os.Getenv)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &usageError{msg: fmt.Sprintf("--agent-dir %s does not exist: the agent never updated itself here (a typo? see run --agent-dir)", dir)}
	}
	d, err := agentdir.Open(dir)
	if err != nil {
		return err
	}
	forgot, err := d.Retry()
	if err != nil {
		return err
	}
	if len(forgot) == 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s: no agent release is recorded failed: nothing to retry", d.Path())}
	}
	for _, v := range slices.Sorted(maps.Keys(forgot)) {
		fmt.Fprintf(stdout, "%s: agent version %s (failed: %s) will be tried again at the agent's next poll\n", d.Path(), v, forgot[v].Reason)
	}
	return nil
}
