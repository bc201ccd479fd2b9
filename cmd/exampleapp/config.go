package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// config is the app's JSON config file (app.cfg -> release/cfg.<version>).
type config struct {
	Listen    string `json:"listen"`     // e.g. "127.0.0.1:8080"
	Message   string `json:"message"`    // shown by GET /
	Healthy   *bool  `json:"healthy"`    // false: /healthz answers 500; default true
	FailStart bool   `json:"fail_start"` // true: exit 1 before serving
	// CrashAfter (a Go duration, e.g. "2s"): exit 1 that long after the
	// start, a release that comes up healthy and then dies.
	CrashAfter string `json:"crash_after"`

	crashAfter time.Duration // CrashAfter, parsed
}

// loadConfig reads path; an unknown key is an error, so a typo does not go
// unnoticed.
func loadConfig(path string) (config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return config{}, fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c config
	if err := dec.Decode(&c); err != nil {
		return config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	if c.Listen == "" {
		return config{}, fmt.Errorf("config %s: %w", path, errors.New(`"listen" is missing`))
	}
	if c.CrashAfter != "" {
		d, err := time.ParseDuration(c.CrashAfter)
		if err != nil || d <= 0 {
			return config{}, fmt.Errorf("config %s: \"crash_after\" %q: want a positive duration", path, c.CrashAfter)
		}
		c.crashAfter = d
	}
	return c, nil
}

func (c config) healthy() bool { return c.Healthy == nil || *c.Healthy }
