package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// config is the app's JSON config file (app.cfg -> release/cfg.<version>).
type config struct {
	Listen    string `json:"listen"`     // e.g. "127.0.0.1:8080"
	Message   string `json:"message"`    // shown by GET /
	Healthy   *bool  `json:"healthy"`    // false: /healthz answers 500; default true
	FailStart bool   `json:"fail_start"` // true: exit 1 before serving
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
	return c, nil
}

func (c config) healthy() bool { return c.Healthy == nil || *c.Healthy }
