package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/api"
	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reconciler-dev/reconciler/internal/promote"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// promConfig is the Prometheus a command asks (promote, fleet).
type promConfig struct {
	URL     string
	Timeout time.Duration
	CAFile  string // fleet's own --ca-file; promote shares Config's
}

func (p *promConfig) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.URL, "prometheus", "", "Prometheus to ask: its base URL, http(s)://host:9090 (required)")
	fs.DurationVar(&p.Timeout, "prometheus-timeout", 30*time.Second, "deadline of each Prometheus query")
}

// client checks the settings and returns a Prometheus API client using the
// system roots plus caFile for https.
func (p *promConfig) client(caFile string) (*promote.Client, error) {
	if p.URL == "" {
		return nil, &usageError{msg: "--prometheus is required (or RECONCILER_PROMETHEUS)"}
	}
	if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{msg: fmt.Sprintf("--prometheus %q: want an http(s) URL such as http://prometheus:9090", redact.URL(p.URL))}
	}
	if p.Timeout <= 0 {
		return nil, &usageError{msg: "--prometheus-timeout must be positive"}
	}
	_, tlsConf, err := loadCA(caFile)
	if err != nil {
		return nil, err
	}
	rt := api.DefaultRoundTripper.(*http.Transport).Clone()
	rt.TLSClientConfig = tlsConf
	return promote.NewClient(p.URL, rt, p.Timeout)
}

// promoteFlags are promote's own settings.
type promoteFlags struct {
	prom     promConfig
	signKey  string
	dryRun   bool
	watch    bool
	interval time.Duration
	verbose  bool
}

func newPromoteCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		c Config
		f promoteFlags
	)
	cmd := &cobra.Command{
		Use:   "promote --repo URL --ref REF --path FILE --prometheus URL [flags]",
		Short: "Move a staged rollout on: hold, advance, halt or finish, from what Prometheus says",
		Long: `promote looks at the rollout block of the desired file at the head of the
branch, asks Prometheus what the agents and the rollout's checks say, and
makes at most one commit, which it pushes:

  hold     hosts in the wave not yet applied, hosts that have not read the
           current percent, the step's soak not over, or missing data (no
           agent reports the rollout; a check without exactly one number);
           a halted rollout holds too: a person decides. Nothing is committed.
  advance  every host in the wave applied, no more than max_failed failed,
           every check within its bounds, all of it at every moment of the
           step's soak: the next step's percent.
  halt     more than max_failed hosts failed, or a check out of its bounds:
           halted, and with on_halt revert also percent 0 and no canary.
  finish   at 100% and soaked: the plain desired file, without the rollout.

It prints the decision in one line. A push refused because someone pushed
meanwhile is read and decided again. It keeps no state: run it from a timer
or CI, or with --watch.

Exit status: 0 when a decision was made (a hold too), 2 on an error
(Prometheus not answering, the deploy repo unreachable or refusing the
push, a bad desired file, an untrusted head).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, client, err := setupPromote(cmd, &c, &f)
			if err != nil {
				return &exitcode.Error{Code: 2, Err: err}
			}
			if !f.watch {
				return promoteOnce(cmd.Context(), p, client, &c, &f, stdout, stderr)
			}
			return promoteWatch(cmd.Context(), p, client, &c, &f, stdout, stderr)
		},
	}
	fs := cmd.Flags()
	c.addRepoFlags(fs)
	fs.Lookup("ref").Usage = "branch the rollout is on (promote pushes to it)"
	fs.Lookup("path").Usage = "desired state file inside the repo, with the rollout block"
	fs.Lookup("verify-keyring").Usage = "armored OpenPGP keyring; the head must be signed by one of its keys before promote commits on it"
	fs.Lookup("verify-ssh-allowed-signers").Usage = "git allowed-signers file; likewise for an SSH-signed head"
	fs.Lookup("ca-file").Usage = "extra CA certificates (PEM) for an https deploy repo and Prometheus"
	f.prom.addFlags(fs)
	fs.StringVar(&f.signKey, "sign-key", "", "sign the commits with this key: an armored OpenPGP secret key or an OpenSSH private key, without passphrase")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the decision, commit nothing")
	fs.BoolVar(&f.watch, "watch", false, "decide again every --interval until stopped")
	fs.DurationVar(&f.interval, "interval", 5*time.Minute, "with --watch, the time between two runs")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "also print, to stderr, the run's Prometheus queries and wall time")
	return cmd
}

// setupPromote checks the settings and wires the promoter.
func setupPromote(cmd *cobra.Command, c *Config, f *promoteFlags) (*promote.Promoter, *promote.Client, error) {
	if err := bindRepoEnv(cmd, c); err != nil {
		return nil, nil, err
	}
	return newPromoter(c, f)
}

// newPromoter checks the settings and wires promote's promoter.
func newPromoter(c *Config, f *promoteFlags) (*promote.Promoter, *promote.Client, error) {
	src, sign, err := newWriter("promote", c, f.signKey)
	if err != nil {
		return nil, nil, err
	}
	if f.watch && f.interval <= 0 {
		return nil, nil, &usageError{msg: "--interval must be positive"}
	}
	client, err := f.prom.client(c.CAFile)
	if err != nil {
		return nil, nil, err
	}
	p := &promote.Promoter{
		Repo:       promote.GitRepo{Source: src, Trust: c.trust, Sign: sign},
		Path:       c.Path,
		Prometheus: client,
		DryRun:     f.dryRun,
	}
	return p, client, nil
}

// promoteOnce runs one decision and prints it.
func promoteOnce(ctx context.Context, p *promote.Promoter, client *promote.Client, c *Config, f *promoteFlags, stdout, stderr io.Writer) error {
	start, queries := time.Now(), client.Queries()
	res, err := p.Run(ctx)
	if f.verbose {
		fmt.Fprintf(stderr, "promote: %d Prometheus queries, %d decision(s), %s wall time\n",
			client.Queries()-queries, res.Attempts, time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		return &exitcode.Error{Code: 2, Err: fmt.Errorf("promote %s of %s: %w", c.Path, redact.URL(c.Repo), err)}
	}
	fmt.Fprintln(stdout, res.Line(c.Path))
	return nil
}

// promoteWatch decides every --interval until ctx ends; a failed run is
// reported and the next one tried.
func promoteWatch(ctx context.Context, p *promote.Promoter, client *promote.Client, c *Config, f *promoteFlags, stdout, stderr io.Writer) error {
	for {
		if err := promoteOnce(ctx, p, client, c, f, stdout, stderr); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintln(stderr, "reconciler:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.interval):
		}
	}
}
