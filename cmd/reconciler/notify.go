package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/internal/hostid"
	"github.com/reconciler-dev/reconciler/internal/notify"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/pflag"
)

// notifyFlags are --notify-url and --notify-secret-file (sync, run, watch;
// diff accepts them for shared environment files).
type notifyFlags struct {
	URLs       []string
	SecretFile string

	urls   []string // every URL of URLs, split at white space
	secret []byte
}

// notifyFlush bounds how long a command waits, when it ends, for
// notifications still queued: the deploy is done by then, and a receiver
// that never answers must not hold the exit (or a restart) for longer.
const notifyFlush = 5 * time.Second

func (n *notifyFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&n.URLs, "notify-url", nil, "POST a JSON notification of each event (applied, rolled_back, failed, untrusted, drift) here; repeatable, and one value may hold several URLs separated by spaces")
	fs.StringVar(&n.SecretFile, "notify-secret-file", "", "sign each notification with the secret in this file (X-Reconciler-Signature-256: sha256=<HMAC-SHA256 of the body>)")
}

// resolve checks every URL and reads the secret, before anything is
// touched, and sets the URLs and the secret. A URL is shown by its origin
// only: the rest may be a token.
func (n *notifyFlags) resolve() error {
	var urls []string
	for _, v := range n.URLs {
		for _, raw := range strings.Fields(v) {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return &usageError{msg: fmt.Sprintf("--notify-url %s: want an http:// or https:// URL with a host", notify.Origin(raw))}
			}
			urls = append(urls, raw)
		}
	}
	var secret []byte
	if n.SecretFile != "" {
		var err error
		if secret, err = readSecretFile("--notify-secret-file", n.SecretFile); err != nil {
			return err
		}
	}
	n.urls, n.secret = urls, secret
	return nil
}

// readSecretFile reads an HMAC secret (--webhook-secret-file,
// --notify-secret-file): the file's content with surrounding white space
// (a trailing newline) trimmed; a missing, unreadable or empty file is a
// usage error naming flag.
func readSecretFile(flag, file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s: %v", flag, err)}
	}
	secret := []byte(strings.TrimSpace(string(b)))
	if len(secret) == 0 {
		return nil, &usageError{msg: flag + ": the file is empty"}
	}
	return secret, nil
}

// startNotifier starts the Sender of c's --notify-url for the app in dir
// and hands it to eng; nil (and eng untouched) without a URL. Its
// deliveries outlive a cancelled ctx (SIGTERM) until closeNotifier.
func startNotifier(ctx context.Context, c *Config, eng *reconcile.Engine, m *notify.Metrics, log *slog.Logger) *notify.Sender {
	s := newSender(ctx, c, eng.Layout.Dir, m, log)
	if s != nil {
		eng.Notify = s
	}
	return s
}

// newSender starts the Sender of c's --notify-url, its bodies' dir field
// dir; nil without a URL. Its deliveries outlive a cancelled ctx until
// closeNotifier.
func newSender(ctx context.Context, c *Config, dir string, m *notify.Metrics, log *slog.Logger) *notify.Sender {
	if len(c.Notify.urls) == 0 {
		return nil
	}
	host, err := hostid.Or(c.HostID) // --host-id, resolved by resolveSource; watch has none
	if err != nil {
		log.Warn("notifications: no host name for the host field", "err", err)
	}
	s := &notify.Sender{URLs: c.Notify.urls, Secret: c.Notify.secret, Host: host, Dir: dir,
		UserAgent: userAgent(), TLS: c.tlsConf, Log: log.With("dir", dir), Metrics: m}
	s.Start(context.WithoutCancel(ctx))
	return s
}

// closeNotifier delivers what is queued within notifyFlush; the Sender
// logs what it drops.
func closeNotifier(ctx context.Context, s *notify.Sender) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyFlush)
	defer cancel()
	s.Close(ctx)
}

// userAgent is "reconciler/<module version>".
func userAgent() string {
	return "reconciler/" + strings.Fields(buildVersion())[1]
}
