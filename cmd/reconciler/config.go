package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/selfupdate"
	"github.com/reconciler-dev/reconciler/internal/window"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Config is every setting of a command, from flags and RECONCILER_*
// variables. Validate checks it before anything runs.
type Config struct {
	Repo          string
	Ref           string
	Path          string
	Dir           string
	Exec          string
	AppUser       string // --app-user: the user Exec runs as
	Restart       string
	HealthURL     string
	HealthCmd     string
	HealthTCP     string
	HealthTimeout time.Duration
	HealthBake    time.Duration
	CrashLoop     string
	DrainTimeout  time.Duration
	Keep          int
	GitTimeout    time.Duration
	MaxSize       string
	LogFormat     string

	// Trust settings: SSH and HTTPS credentials, extra CA, and the keys
	// the deployed commit must be signed with.
	SSHKey, KnownHosts, VerifyKeyring, VerifySSH, TokenFile, CAFile string
	// AgeIdentity decrypts configs whose cfg.path ends in .age.
	AgeIdentity string
	// HostID places this host in staged rollouts ("": the host name).
	HostID string
	// Stores say how to reach OCI registries and S3 (--registry-*, --s3-*).
	Stores storeFlags
	// Notify is where events are POSTed (--notify-url, --notify-secret-file).
	Notify notifyFlags
	// Windows and DenyWindows are --window and --deny-window as given;
	// IgnoreWindows is sync's --ignore-windows.
	Windows, DenyWindows []string
	IgnoreWindows        bool

	// Hooks: command lines run around a switch (--pre-switch,
	// --post-switch, --on-rollback), each within HookTimeout.
	PreSwitch, PostSwitch, OnRollback string
	HookTimeout                       time.Duration
	// appToken is RECONCILER_GIT_TOKEN of an --apps-dir or --env-file
	// file; nil: the environment's (gitToken).
	appToken *string

	mode         restart.Mode        // --restart, parsed
	crashLoop    reconcile.CrashLoop // --crash-loop, parsed
	appCred      *syscall.Credential // --app-user, resolved; nil: the agent's user
	maxSizeBytes int64
	caPEM        []byte      // --ca-file content, for go-git
	tlsConf      *tls.Config // system roots plus --ca-file, for artifacts
	trust        gitsrc.Trust
	windows      window.Set // --window and --deny-window, parsed
}

// defaultConfig is the Config that the flags' defaults give, for callers
// that build one without a command line (the demo): a new flag gets its
// default there too.
func defaultConfig() *Config {
	var c Config
	fs := pflag.NewFlagSet("defaults", pflag.ContinueOnError)
	c.addSourceFlags(fs)
	c.addDirFlag(fs)
	c.addApplyFlags(fs)
	c.addLogFlag(fs)
	return &c
}

// addSourceFlags registers the flags that say where the desired state is.
func (c *Config) addSourceFlags(fs *pflag.FlagSet) {
	c.addRepoFlags(fs)
	fs.StringVar(&c.HostID, "host-id", "", "this host's id in staged rollouts (default: the host name)")
	fs.StringVar(&c.AgeIdentity, "age-identity", "", "age identity file (age-keygen, or an SSH ed25519/RSA private key) that decrypts a cfg.path ending in .age")
}

// addRepoFlags registers the deploy repo, its credentials and the keys
// its commits must be signed with: the agents' flags, and promote's.
func (c *Config) addRepoFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Repo, "repo", "", "deploy repo: https://, ssh://, git@host:path, file:// or a local path (required)")
	fs.StringVar(&c.Ref, "ref", "main", "branch or tag to follow")
	fs.StringVar(&c.Path, "path", "current.conf", "desired state file inside the repo; {hostname} is replaced by this host's name")
	fs.DurationVar(&c.GitTimeout, "git-timeout", 60*time.Second, "deadline of each call to the git host")
	fs.StringVar(&c.SSHKey, "ssh-key", "", "SSH private key for the deploy repo")
	fs.StringVar(&c.KnownHosts, "known-hosts", "", "known_hosts file; SSH host keys are checked")
	fs.StringVar(&c.VerifyKeyring, "verify-keyring", "", "armored OpenPGP keyring; the deployed commit must be signed by one of its keys")
	fs.StringVar(&c.VerifySSH, "verify-ssh-allowed-signers", "", "git allowed-signers file for SSH-signed commits")
	fs.StringVar(&c.TokenFile, "git-token-file", "", "file holding an HTTPS token for the deploy repo")
	fs.StringVar(&c.CAFile, "ca-file", "", "extra CA certificates (PEM) for HTTPS artifacts and git")
}

// addDirFlag registers --dir.
func (c *Config) addDirFlag(fs *pflag.FlagSet) {
	fs.StringVar(&c.Dir, "dir", "", "the app directory (required)")
}

// addApplyFlags registers the flags of commands that change the directory.
func (c *Config) addApplyFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Exec, "exec", "./app.bin -c app.cfg", "how to start the app (run in --dir) when none runs; empty (--exec '') for an app with a supervisor of its own (its systemd unit): never started after an exit")
	fs.StringVar(&c.AppUser, "app-user", "", "start the app (--exec) as this user (name or uid), with its group and groups, not as the agent's user (needs root, or CAP_SETUID and CAP_SETGID)")
	fs.StringVar(&c.Restart, "restart", "hup", "after a switch: hup (graceful re-exec), restart (SIGTERM, start anew) or none")
	fs.StringVar(&c.HealthURL, "health-url", "", "after a switch, the new release must answer 2xx here")
	fs.StringVar(&c.HealthCmd, "health-cmd", "", "after a switch, this command (run in --dir, no shell) must exit 0")
	fs.StringVar(&c.HealthTCP, "health-tcp", "", "after a switch, this host:port must accept a TCP connection")
	fs.DurationVar(&c.HealthTimeout, "health-timeout", 30*time.Second, "how long a new release has to come up and be healthy")
	fs.DurationVar(&c.HealthBake, "health-bake", 0, "once healthy, the new release must stay up and healthy this long, or it is switched back (not part of --health-timeout)")
	fs.StringVar(&c.CrashLoop, "crash-loop", reconcile.DefaultCrashLoop.String(), "N/D: a release whose app exits N times within D of its switch is switched back and recorded failed, with or without --health-bake; 0: off")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 5*time.Minute, "how long the next switch waits for the previous handover to drain (not part of --health-timeout)")
	fs.StringVar(&c.PreSwitch, "pre-switch", "", "run this command (in --dir, no shell) after the new release is verified and before any link moves; a failure fails the revision and nothing is switched")
	fs.StringVar(&c.PostSwitch, "post-switch", "", "run this command (in --dir, no shell) after a switch that came up healthy; a failure is logged, nothing is rolled back")
	fs.StringVar(&c.OnRollback, "on-rollback", "", "run this command (in --dir, no shell) after a release that did not come up was switched back")
	fs.DurationVar(&c.HookTimeout, "hook-timeout", restart.HookTimeout, "a hook still running after this is killed with its process group (and has failed)")
	fs.IntVar(&c.Keep, "keep", 5, "releases kept in release/")
	fs.StringVar(&c.MaxSize, "max-artifact-size", "2GiB", "largest artifact accepted, enforced while streaming")
	c.Stores.addFlags(fs)
	c.Notify.addFlags(fs)
}

// addLogFlag registers --log-format.
func (c *Config) addLogFlag(fs *pflag.FlagSet) {
	fs.Var((*logFormat)(&c.LogFormat), "log-format", "text or json (default: text on a terminal, json otherwise)")
}

// bindEnv gives every flag not set on the command line the value of
// RECONCILER_<FLAG> (dashes become underscores) of the command's
// --env-file (or --apps-dir DIR --app NAME) file, else of the environment,
// as docs/reference.md promises; a bad value is reported as the file's
// line or the variable it came from. It first warns about every
// RECONCILER_* setting of both that nothing reads, which a typo would
// otherwise be.
func bindEnv(cmd *cobra.Command) error {
	vars, err := envFileSettings(cmd)
	if err != nil {
		return err
	}
	path, _, _ := envFilePath(cmd)
	environ := os.Environ()
	for _, v := range vars {
		environ = append(environ, v.Name+"="+v.Value)
	}
	warnUnknownEnv(cmd, environ)
	file := fileValues(vars)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		if v, ok := file[name]; ok {
			err = setFromFile(cmd, f, v, path)
			return
		}
		if v, ok := os.LookupEnv(name); ok {
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = &usageError{msg: fmt.Sprintf("%s=%s: %v", name, v, envCause(serr))}
			}
		}
	})
	return err
}

// envName is the variable that sets flag.
func envName(flag string) string {
	return "RECONCILER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envCause is why pflag refused a value, without its wording, which names
// the flag (--keep) the value did not come from.
func envCause(err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) && bad.Unwrap() != nil {
		return bad.Unwrap()
	}
	return err
}

// envOnly are the RECONCILER_* variables read other than through a flag:
// the HTTPS token (newEngine; a secret has no flag, only --git-token-file)
// the tests' marker for a re-executed test binary, the start's marker
// of an agent version it exec'd (agentdir.ChosenEnv), and the descriptors
// an agent hands its successor (selfupdate.HandoverEnv). A new os.Getenv of a
// RECONCILER_* name belongs here, or it is warned about as a typo.
var envOnly = []string{"RECONCILER_GIT_TOKEN", "RECONCILER_TEST_MAIN", agentdir.ChosenEnv, selfupdate.HandoverEnv}

// warnUnknownEnv writes one line to the command's stderr for each
// RECONCILER_* variable of environ that is no flag of any command and not in
// envOnly, naming the closest known variable when one is close. A flag of
// another command is no typo: one systemd env file serves them all.
func warnUnknownEnv(cmd *cobra.Command, environ []string) {
	known := knownEnv(cmd.Root())
	var typos []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RECONCILER_") && !slices.Contains(known, name) {
			typos = append(typos, name)
		}
	}
	slices.Sort(typos)
	for _, name := range slices.Compact(typos) { // in the file and the environment: once
		line := "reconciler: warning: ignoring " + name + ": no such setting"
		if near := closestEnv(name, known); near != "" {
			line += " (did you mean " + near + "?)"
		}
		fmt.Fprintln(cmd.ErrOrStderr(), line)
	}
}

// knownEnv returns, sorted, the variables of every flag of root and its
// subcommands, envOnly, and those a hook or health command is given (a
// reconciler it runs inherits them).
func knownEnv(root *cobra.Command) []string {
	known := slices.Concat(envOnly, appdir.EnvNames())
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			// cobra's --help and the root's --version, never bound (bump's
			// --version is its own)
			if f.Name != "help" && (f.Name != "version" || c.HasParent()) {
				known = append(known, envName(f.Name))
			}
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(known)
	return slices.Compact(known)
}

// closestEnv returns the known variable nearest to name: at most two edits
// away (RECONCILER_LOGFORMAT), or holding or held by it (RECONCILER_DIRECTORY
// for RECONCILER_DIR); "" when none is. known is sorted, so ties go to the
// first name.
func closestEnv(name string, known []string) string {
	word := strings.TrimPrefix(name, "RECONCILER_")
	best, bestDist := "", -1
	for _, k := range known {
		kw := strings.TrimPrefix(k, "RECONCILER_")
		d := editDistance(word, kw)
		shorter, longer := kw, word
		if len(shorter) > len(longer) {
			shorter, longer = longer, shorter
		}
		near := d <= 2 || (len(shorter) >= 3 && strings.Contains(longer, shorter))
		if near && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ValidateSource checks the settings that say where the desired state is.
func (c *Config) ValidateSource() error {
	if c.Repo == "" {
		return &usageError{msg: "--repo is required (or RECONCILER_REPO)"}
	}
	if strings.Contains(c.Path, "{hostname}") {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("expand {hostname} in --path: %w", err)
		}
		c.Path = strings.ReplaceAll(c.Path, "{hostname}", host)
	}
	c.Path = strings.TrimPrefix(c.Path, "./")
	if err := c.resolveHostID(); err != nil {
		return err
	}
	trust, err := gitsrc.ParseTrust(c.VerifyKeyring, c.VerifySSH)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	c.trust = trust
	if c.GitTimeout <= 0 {
		return &usageError{msg: "--git-timeout must be positive"}
	}
	c.caPEM, c.tlsConf, err = loadCA(c.CAFile)
	return err
}

// resolveHostID defaults --host-id to the host name and refuses an id that
// cannot be one (it is hashed into a bucket and shown in metric labels).
func (c *Config) resolveHostID() error {
	if c.HostID == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--host-id not given and the host name is unknown: %w", err)
		}
		c.HostID = host
	}
	if strings.TrimSpace(c.HostID) != c.HostID || strings.ContainsAny(c.HostID, "/\x00\n") || len(c.HostID) > 253 {
		return &usageError{msg: fmt.Sprintf("--host-id %q: want a host name or id (no /, no white space at the ends, at most 253 bytes)", c.HostID)}
	}
	return nil
}

// ValidateDir checks --dir.
func (c *Config) ValidateDir() error {
	if c.Dir == "" {
		return &usageError{msg: "--dir is required (or RECONCILER_DIR)"}
	}
	return nil
}

// ValidateApply checks the settings of commands that change the directory.
func (c *Config) ValidateApply() error {
	mode, err := restart.ParseMode(c.Restart)
	if err != nil {
		return &usageError{msg: "--restart " + err.Error()}
	}
	c.mode = mode
	if c.appCred, err = appCredential(c.AppUser); err != nil {
		return err
	}
	if err := c.validateHealth(); err != nil {
		return err
	}
	if err := c.validateHooks(); err != nil {
		return err
	}
	if c.DrainTimeout <= 0 {
		return &usageError{msg: "--drain-timeout must be positive"}
	}
	if c.Keep < 2 {
		return &usageError{msg: fmt.Sprintf("--keep %d: at least 2 (the running and the previous release)", c.Keep)}
	}
	n, err := parseSize(c.MaxSize)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("--max-artifact-size: %v", err)}
	}
	c.maxSizeBytes = n
	return c.Notify.validate()
}

// validateHealth checks the health settings: the command's program must be
// there to run, the TCP address a host:port.
func (c *Config) validateHealth() error {
	if c.HealthURL != "" {
		if u, err := url.Parse(c.HealthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &usageError{msg: fmt.Sprintf("--health-url %q: want an http(s) URL", c.HealthURL)}
		}
	}
	if c.HealthCmd != "" {
		if err := restart.CheckCommand(c.Dir, c.HealthCmd); err != nil {
			return &usageError{msg: fmt.Sprintf("--health-cmd %q: %v", c.HealthCmd, err)}
		}
	}
	if c.HealthTCP != "" {
		if err := checkHostPort(c.HealthTCP); err != nil {
			return &usageError{msg: fmt.Sprintf("--health-tcp %q: %v", c.HealthTCP, err)}
		}
	}
	if c.HealthTimeout <= 0 {
		return &usageError{msg: "--health-timeout must be positive"}
	}
	if c.HealthBake < 0 {
		return &usageError{msg: "--health-bake must not be negative"}
	}
	cl, err := reconcile.ParseCrashLoop(c.CrashLoop)
	if err != nil {
		return &usageError{msg: "--crash-loop " + err.Error()}
	}
	c.crashLoop = cl
	return nil
}

// validateHooks checks the hooks: each program must be there to run, as
// the health command's, and the timeout positive.
func (c *Config) validateHooks() error {
	for _, h := range []struct{ flag, cmd string }{
		{"--pre-switch", c.PreSwitch}, {"--post-switch", c.PostSwitch}, {"--on-rollback", c.OnRollback},
	} {
		if h.cmd == "" {
			continue
		}
		if err := restart.CheckCommand(c.Dir, h.cmd); err != nil {
			return &usageError{msg: fmt.Sprintf("%s %q: %v", h.flag, h.cmd, err)}
		}
	}
	if c.HookTimeout <= 0 {
		return &usageError{msg: "--hook-timeout must be positive"}
	}
	return nil
}

// checkHostPort wants host:port with a numeric port in 1-65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	if host == "" {
		return errors.New("want host:port: the host is missing")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want a number from 1 to 65535", port)
	}
	return nil
}
