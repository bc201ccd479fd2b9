package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	no := false
	tests := []struct {
		name     string
		cfg      config
		path     string
		wantCode int
		wantBody string // prefix
	}{
		{"root", config{Message: "hi"}, "/", 200, "exampleapp 7.1: hi\n"},
		{"healthy by default", config{}, "/healthz", 200, "ok"},
		{"unhealthy by config", config{Healthy: &no}, "/healthz", 500, "unhealthy"},
		{"unknown path", config{}, "/nope", 404, ""},
		{"slow", config{}, "/slow?d=1ms", 200, "exampleapp 7.1: slept 1ms"},
		{"slow without a duration", config{}, "/slow", 400, "d: want"},
		{"slow too long", config{}, "/slow?d=1h", 400, "d: want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			newHandler("7.1", tt.cfg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tt.wantCode || !strings.HasPrefix(string(body), tt.wantBody) {
				t.Errorf("GET %s: got %d %q, want %d %q...", tt.path, rec.Code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
		wantHealthy         bool
	}{
		{"full", `{"listen":"127.0.0.1:1","message":"m","healthy":false,"fail_start":true}`, "", false},
		{"healthy by default", `{"listen":"127.0.0.1:1"}`, "", true},
		{"unknown key", `{"listen":"127.0.0.1:1","helthy":true}`, `unknown field "helthy"`, false},
		{"no listen", `{"message":"m"}`, `"listen" is missing`, false},
		{"not json", `listen: x`, "parse config", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.cfg")
			if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := loadConfig(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("loadConfig: got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig: got %v, want nil", err)
			}
			if c.healthy() != tt.wantHealthy {
				t.Errorf("healthy: got %v, want %v", c.healthy(), tt.wantHealthy)
			}
		})
	}
}

// run returns before it serves on these; the real-process tests cover the rest.
func TestRunFailsBeforeServing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "app.cfg")
	if err := os.WriteFile(cfg, []byte(`{"listen":"127.0.0.1:1","fail_start":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want func(error) bool
	}{
		{"fail_start", []string{"-c", cfg}, func(err error) bool { return errors.Is(err, errFailStart) }},
		{"missing config", []string{"-c", filepath.Join(dir, "none")}, func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
		{"bad flag", []string{"-nope"}, func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if err := run(t.Context(), tt.args, io.Discard, &stderr); !tt.want(err) {
				t.Errorf("run %q: got %v", tt.args, err)
			}
		})
	}
}

func TestRunVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-version"}, &out, io.Discard); err != nil || out.String() != version+"\n" {
		t.Errorf("run -version: got %q, %v; want %q", out.String(), err, version+"\n")
	}
}
