package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/appset"
	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/redact"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// openApp is the agenthost.OpenFunc of `run --apps-dir`: the settings of
// the app of f (settings), and its engine built as `run --dir` builds its
// own, on the git source the host shares among the apps of its repo
// (openEngineOn).
func (d *appDefaults) openApp(f appset.File, log *slog.Logger) (*agenthost.App, error) {
	c, a, err := d.settings(f, log)
	if err != nil {
		return nil, err
	}
	sched, err := parseSchedule(a.Schedule)
	if err != nil {
		return nil, appFileError(f, err)
	}
	opts, err := sourceOptions(c, "")
	if err != nil {
		return nil, appFileError(f, err)
	}
	start := func(ctx context.Context, p agenthost.Parts) (*agenthost.Running, error) {
		var (
			eng  wired
			lock *reconcile.Lock
		)
		err := waitUnlocked(ctx, d.handover, c.Dir, p.Log, func() (err error) {
			eng, lock, err = openEngineOn(c, p.Git, p.Log)
			return err
		})
		if err != nil {
			return nil, err
		}
		eng.Metrics = p.Metrics
		notifier := startNotifier(ctx, c, eng.Engine, notify.NewMetrics(p.Registry), p.Log)
		p.Log.Info("app starting", "file", f.Path, "repo", redact.URL(c.Repo), "ref", c.Ref, "path", c.Path,
			"dir", eng.Layout.Dir, "schedule", a.Schedule, "jitter", a.Jitter, "notify", len(c.Notify.urls),
			"window", c.Windows, "deny_window", c.DenyWindows)
		return &agenthost.Running{Engine: eng.Engine, Jitter: a.Jitter, MaxBackoff: a.MaxBackoff, Close: func() {
			lock.Unlock() // the app's agent is done: delivering what is queued needs no lock
			closeNotifier(ctx, notifier)
		}}, nil
	}
	return &agenthost.App{Dir: c.Dir, Schedule: sched, RepoKey: repoKey(c), Source: opts, Start: start}, nil
}

// repoKey names what apps must agree on to share a git source: the repo
// and ref, the credentials and the limits of its calls. It names the
// cache directory too, so it is a digest (a token is among its inputs).
func repoKey(c *Config) string {
	h := sha256.New()
	for _, s := range []string{c.Repo, c.Ref, c.SSHKey, c.KnownHosts, c.TokenFile, c.gitToken(), c.CAFile,
		c.GitTimeout.String(), fmt.Sprint(c.maxSizeBytes)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
