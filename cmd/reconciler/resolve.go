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
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

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
