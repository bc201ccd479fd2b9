package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/hostid"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// Resolving a Config is a list of steps run in order, the first error
// stopping it: a check (validate*, a value receiver: it changes nothing)
// or a resolution (resolve*: parses, reads a file or fills a default, and
// sets one resolved value). A check reads the settings as they were when
// its list was made, so it never checks a field a resolution changes.
type step func() error

// runSteps runs steps in order until one fails.
func runSteps(steps ...step) error {
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// resolveSource resolves the settings that say where the desired state
// is: --path with {hostname} expanded, --host-id, the trust keys and
// --ca-file.
func (c *Config) resolveSource() error {
	return runSteps(c.validateRepo, c.resolvePath, c.resolveHostID, c.resolveTrust, c.validateGitTimeout, c.resolveCA)
}

func (c Config) validateRepo() error {
	if c.Repo == "" {
		return &usageError{msg: "--repo is required (or RECONCILER_REPO)"}
	}
	return nil
}

func (c Config) validateGitTimeout() error {
	if c.GitTimeout <= 0 {
		return &usageError{msg: "--git-timeout must be positive"}
	}
	return nil
}

// resolvePath replaces {hostname} in --path by the host name and drops a
// leading ./.
func (c *Config) resolvePath() error {
	path := c.Path
	if strings.Contains(path, "{hostname}") {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("expand {hostname} in --path: %w", err)
		}
		path = strings.ReplaceAll(path, "{hostname}", host)
	}
	c.Path = strings.TrimPrefix(path, "./")
	return nil
}

// resolveHostID defaults --host-id to the host name and refuses an id that
// cannot be one (it is hashed into a bucket and shown in metric labels).
func (c *Config) resolveHostID() error {
	id, err := hostid.Or(c.HostID)
	if err != nil {
		return fmt.Errorf("--host-id not given and the host name is unknown: %w", err)
	}
	if strings.TrimSpace(id) != id || strings.ContainsAny(id, "/\x00\n") || len(id) > 253 {
		return &usageError{msg: fmt.Sprintf("--host-id %q: want a host name or id (no /, no white space at the ends, at most 253 bytes)", id)}
	}
	c.HostID = id
	return nil
}

// resolveTrust reads the keys the deployed commit must be signed with.
func (c *Config) resolveTrust() error {
	trust, err := gitsrc.ParseTrust(c.VerifyKeyring, c.VerifySSH)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	c.trust = trust
	return nil
}

// resolveCA reads --ca-file, for go-git and for HTTPS artifacts.
func (c *Config) resolveCA() error {
	pem, conf, err := loadCA(c.CAFile)
	if err != nil {
		return err
	}
	c.caPEM, c.tlsConf = pem, conf
	return nil
}

// validateDir checks --dir.
func (c Config) validateDir() error {
	if c.Dir == "" {
		return &usageError{msg: "--dir is required (or RECONCILER_DIR)"}
	}
	return nil
}

// resolveApply resolves the settings of commands that change the
// directory: --restart, --app-user, --crash-loop, --max-artifact-size and
// the notifications, after checking the health checks, the hooks and the
// bounds.
func (c *Config) resolveApply() error {
	return runSteps(c.resolveMode, c.resolveAppUser, c.validateHealth, c.resolveCrashLoop, c.validateHooks,
		c.validateBounds, c.resolveMaxSize, c.Notify.resolve)
}

func (c *Config) resolveMode() error {
	mode, err := restart.ParseMode(c.Restart)
	if err != nil {
		return &usageError{msg: "--restart " + err.Error()}
	}
	c.mode = mode
	return nil
}

func (c *Config) resolveAppUser() error {
	cred, err := appCredential(c.AppUser)
	if err != nil {
		return err
	}
	c.appCred = cred
	return nil
}

func (c *Config) resolveCrashLoop() error {
	cl, err := reconcile.ParseCrashLoop(c.CrashLoop)
	if err != nil {
		return &usageError{msg: "--crash-loop " + err.Error()}
	}
	c.crashLoop = cl
	return nil
}

func (c *Config) resolveMaxSize() error {
	n, err := parseSize(c.MaxSize)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("--max-artifact-size: %v", err)}
	}
	c.maxSizeBytes = n
	return nil
}

// validateBounds checks --drain-timeout and --keep.
func (c Config) validateBounds() error {
	if c.DrainTimeout <= 0 {
		return &usageError{msg: "--drain-timeout must be positive"}
	}
	if c.Keep < 2 {
		return &usageError{msg: fmt.Sprintf("--keep %d: at least 2 (the running and the previous release)", c.Keep)}
	}
	return nil
}

// validateHealth checks the health settings: the command's program must be
// there to run, the TCP address a host:port.
func (c Config) validateHealth() error {
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
	return nil
}

// validateHooks checks the hooks: each program must be there to run, as
// the health command's, and the timeout positive.
func (c Config) validateHooks() error {
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
