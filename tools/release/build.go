package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildAgent builds cmd/reconciler for linux/arch, stamped and stripped, and
// returns the binary's path.
func (r *release) buildAgent(ctx context.Context, arch string) (string, error) {
	out := filepath.Join(r.work, "bin", arch, "reconciler")
	ldflags := strings.Join([]string{
		"-s", "-w", "-buildid=",
		"-X", "main.version=" + r.Version,
		"-X", "main.commit=" + r.commit,
		"-X", "main.date=" + r.epoch.Format(time.RFC3339),
	}, " ")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", ldflags, "-o", out, "./cmd/reconciler")
	cmd.Dir = r.Src
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/reconciler for linux/%s in %s: %w", arch, r.Src, err)
	}
	return out, nil
}
