package main

import (
	"crypto/tls"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/window"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// Config is every setting of a command, from flags and RECONCILER_*
// variables (flags.go, env.go), then resolved before anything runs
// (resolve.go): checked, and its parsed values (the fields below the
// settings) set.
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

	// Resolved values, zero until the resolving steps set them
	// (resolveSource, resolveApply, resolveWindows).
	mode         restart.Mode        // --restart, parsed
	crashLoop    reconcile.CrashLoop // --crash-loop, parsed
	appCred      *syscall.Credential // --app-user, resolved; nil: the agent's user
	maxSizeBytes int64
	caPEM        []byte      // --ca-file content, for go-git
	tlsConf      *tls.Config // system roots plus --ca-file, for artifacts
	trust        gitsrc.Trust
	windows      window.Set // --window and --deny-window, parsed
}
