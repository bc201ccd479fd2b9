package main

import (
	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/spf13/pflag"
)

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
	fs.StringVar(&c.Ref, "ref", gitsrc.DefaultRef, "branch or tag to follow")
	fs.StringVar(&c.Path, "path", "current.conf", "desired state file inside the repo; {hostname} is replaced by this host's name")
	fs.DurationVar(&c.GitTimeout, "git-timeout", gitsrc.DefaultTimeout, "deadline of each call to the git host")
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
	fs.StringVar(&c.Restart, "restart", string(restart.ModeHUP), "after a switch: hup (graceful re-exec), restart (SIGTERM, start anew) or none")
	fs.StringVar(&c.HealthURL, "health-url", "", "after a switch, the new release must answer 2xx here")
	fs.StringVar(&c.HealthCmd, "health-cmd", "", "after a switch, this command (run in --dir, no shell) must exit 0")
	fs.StringVar(&c.HealthTCP, "health-tcp", "", "after a switch, this host:port must accept a TCP connection")
	fs.DurationVar(&c.HealthTimeout, "health-timeout", restart.DefaultHealthTimeout, "how long a new release has to come up and be healthy")
	fs.DurationVar(&c.HealthBake, "health-bake", 0, "once healthy, the new release must stay up and healthy this long, or it is switched back (not part of --health-timeout)")
	fs.StringVar(&c.CrashLoop, "crash-loop", reconcile.DefaultCrashLoop.String(), "N/D: a release whose app exits N times within D of its switch is switched back and recorded failed, with or without --health-bake; 0: off")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", restart.DefaultDrainTimeout, "how long the next switch waits for the previous handover to drain (not part of --health-timeout)")
	fs.StringVar(&c.PreSwitch, "pre-switch", "", "run this command (in --dir, no shell) after the new release is verified and before any link moves; a failure fails the revision and nothing is switched")
	fs.StringVar(&c.PostSwitch, "post-switch", "", "run this command (in --dir, no shell) after a switch that came up healthy; a failure is logged, nothing is rolled back")
	fs.StringVar(&c.OnRollback, "on-rollback", "", "run this command (in --dir, no shell) after a release that did not come up was switched back")
	fs.DurationVar(&c.HookTimeout, "hook-timeout", restart.HookTimeout, "a hook still running after this is killed with its process group (and has failed)")
	fs.IntVar(&c.Keep, "keep", 5, "releases kept in release/")
	fs.StringVar(&c.MaxSize, "max-artifact-size", formatSize(artifacts.DefaultMaxSize), "largest artifact accepted, enforced while streaming")
	c.Stores.addFlags(fs)
	c.Notify.addFlags(fs)
}

// addLogFlag registers --log-format.
func (c *Config) addLogFlag(fs *pflag.FlagSet) {
	fs.Var((*logFormat)(&c.LogFormat), "log-format", "text or json (default: text on a terminal, json otherwise)")
}
