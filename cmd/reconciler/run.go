package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/reconciler-dev/reconciler/internal/agenthost"
	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/internal/redact"
	"github.com/reconciler-dev/reconciler/internal/selfupdate"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"
)

// agentFlags are the settings only `run` has.
type agentFlags struct {
	Schedule   string
	Jitter     time.Duration
	Listen     string
	SecretFile string
	MaxBackoff time.Duration
	Update     selfUpdateFlags // --agent-*
}

func newRunCmd(stderr io.Writer) *cobra.Command {
	cmd, _, _ := runCommand(stderr)
	return cmd
}

// runCommand returns the run command and the settings its flags fill in,
// so that --apps-dir can make one per app.
func runCommand(stderr io.Writer) (*cobra.Command, *Config, *agentFlags) {
	var (
		c Config
		a agentFlags
		x appsFlags
	)
	cmd := &cobra.Command{
		Use:   "run --repo URL --dir DIR [flags] | run --apps-dir DIR [flags]",
		Short: "The agent: poll the deploy repo on a schedule and keep the app in step",
		Long: `run is the long-running agent a server runs under systemd. It polls the deploy
repo on a cron schedule (one cheap ref listing per poll; objects only when
the branch moved), applies changes, puts back local drift, backs off
exponentially on failure, and watches release/current.conf.

With --window or --deny-window, a new release waits, neither downloaded nor
applied, until the deploy windows open; the agent then deploys it at once,
without waiting for the next poll.

With --listen (loopback unless an address says otherwise): GET /metrics
(Prometheus), GET /healthz, GET /status (JSON, as status --json) and
POST /reconcile (poll now; with --webhook-secret-file a GitHub-style
X-Hub-Signature-256 is required).

SIGTERM or SIGINT stop the agent; the app keeps running. SIGHUP polls at
once (logged); it never stops the agent.

With --apps-dir DIR instead of --dir, one agent runs every app of DIR: each
DIR/NAME.env holds the RECONCILER_* settings of the app NAME, as the
environment file of a reconciler@NAME unit does, over the defaults given
here. Files added, changed or removed are followed (and re-read on
SIGHUP); apps on the same repo and ref share one ref listing per poll and
one git cache in --cache-dir. /metrics labels every series with app,
/status lists every app, POST /reconcile polls all (?app=NAME: one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if appsMode(cmd) {
				return runAppsCmd(cmd, &c, &a, &x, stderr)
			}
			if err := setup(cmd, &c, true); err != nil {
				return err
			}
			log, err := newLogger(c.LogFormat, stderr, slog.LevelInfo)
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), &c, &a, log)
		},
	}
	fs := cmd.Flags()
	c.addSourceFlags(fs)
	c.addDirFlag(fs)
	c.addApplyFlags(fs)
	c.addLogFlag(fs)
	c.addWindowFlags(fs)
	fs.StringVar(&a.Schedule, "schedule", "@every 30s", `when to poll: a cron spec with an optional seconds field ("*/15 * * * * *", "0 */5 * * * *", "*/5 * * * *") or a descriptor ("@every 30s", "@hourly")`)
	fs.DurationVar(&a.Jitter, "jitter", 0, "random extra delay per poll, up to this, so a fleet does not poll in step")
	fs.StringVar(&a.Listen, "listen", "", `serve /metrics, /healthz, /status and POST /reconcile here; ":9100" means 127.0.0.1:9100`)
	fs.StringVar(&a.SecretFile, "webhook-secret-file", "", "require a GitHub-style X-Hub-Signature-256 HMAC on POST /reconcile, with the secret in this file")
	fs.DurationVar(&a.MaxBackoff, "max-backoff", reconcile.DefaultMaxBackoff, "longest wait between polls after repeated failures")
	x.addRunFlags(fs)
	a.Update.add(fs)
	return cmd, &c, &a
}

// parseSchedule accepts 5 or 6 fields (seconds optional) and descriptors.
func parseSchedule(spec string) (cron.Schedule, error) {
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := p.Parse(spec)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--schedule %q: %v", spec, err)}
	}
	return s, nil
}

// loopbackAddr makes ":9100" mean 127.0.0.1:9100: metrics and the webhook
// are not exposed unless an address says so.
func loopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", &usageError{msg: fmt.Sprintf("--listen %q: %v", addr, err)}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

func runAgent(ctx context.Context, c *Config, a *agentFlags, log *slog.Logger) error {
	hup := newHUPRelay() // first: a SIGHUP from now on polls, never kills
	defer hup.Close()
	hand, err := selfupdate.Inherited() // started by an agent to take over from it
	if err != nil {
		return err
	}
	sched, err := parseSchedule(a.Schedule)
	if err != nil {
		return err
	}
	var secret []byte
	if a.SecretFile != "" {
		if secret, err = readSecretFile("--webhook-secret-file", a.SecretFile); err != nil {
			return err
		}
	}
	listen := ""
	if a.Listen != "" {
		if listen, err = loopbackAddr(a.Listen); err != nil {
			return err
		}
	}
	up, err := newUpdater(c, &a.Update, log)
	if err != nil {
		return err
	}
	if err := confirmAsSuccessor(ctx, hand, up, log); err != nil {
		return err
	}
	eng, lock, err := openAgentEngine(ctx, c, hand, up, &a.Update, log)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	layout := eng.Layout
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	src := eng.src
	eng.Metrics = reconcile.NewMetrics(reg, func() (int64, int64) { s := src.Stats(); return s.RefListings, s.Fetches })
	notifier := startNotifier(ctx, c, eng.Engine, notify.NewMetrics(reg), log)
	agent := reconcile.NewAgent(eng, sched, log.With("dir", layout.Dir))
	agent.Metrics, agent.Jitter, agent.MaxBackoff = eng.Metrics, a.Jitter, a.MaxBackoff
	if err := restart.CleanLinks(layout.Dir); err != nil {
		log.Warn("clean temporary links", "err", err)
	}

	ln, err := listenAgent(listen, hand)
	if err != nil {
		return err
	}
	startUpdater(up, layout, reg, eng.Notify, ln)
	log.Info("agent starting", "repo", redact.URL(c.Repo), "ref", c.Ref, "path", c.Path, "dir", layout.Dir,
		"schedule", a.Schedule, "jitter", a.Jitter, "listen", listen, "notify", len(c.Notify.urls))
	if !c.windows.Empty() {
		opens, _ := c.windows.NextOpen(time.Now()) // now, when open
		log.Info("deploy windows", "window", c.Windows, "deny_window", c.DenyWindows, "opens", opens)
	}
	hup.start(ctx, log, "SIGHUP: polling now", agent.Trigger)
	serveCtx, handedOver := context.WithCancel(ctx)
	defer handedOver()
	succ, wait := runUpdater(serveCtx, up, agent, handedOver)
	notifyReady(log)
	loop := agenthost.Loop{Agent: agent, Layout: layout, Exits: agenthost.ExitWatch(eng.Engine), OnRequest: agent.Trigger, Log: log}
	stopServing := func() error { return nil }
	if ln != nil {
		srv := agenthost.NewServer(&agenthost.Single{Agent: agent, Layout: layout, Metrics: reg}, secret, log)
		stopServing = serveBeyond(ctx, handedOver, srv, ln)
	}
	_, err = endAgent(ctx, loop.Run(serveCtx), wait, lock, stopServing, notifier, succ, log)
	return err
}

// serveBeyond serves srv on ln until the func it returns is called, which
// stops it and returns its error; a server that fails before calls
// stopAgent. The agent's endpoint so outlives its loops: at a handover
// the old agent answers on the shared socket until it has let go of the
// directory, and the successor, which takes the lock then, answers from
// that moment (the /metrics gap is the successor's start alone, not also
// the old agent's stop).
func serveBeyond(ctx context.Context, stopAgent func(), srv *http.Server, ln net.Listener) func() error {
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		err := agenthost.ServeHTTP(sctx, srv, ln)
		if err != nil && sctx.Err() == nil {
			stopAgent()
		}
		done <- err
	}()
	return func() error {
		stop()
		return <-done
	}
}
