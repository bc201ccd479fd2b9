package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildBinary builds a package of this module into out, with optional
// ldflags, from the module root (bench runs from a clone: go run ./bench).
func buildBinary(out, pkg, ldflags string) error {
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func fileSHA(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

// appBuilds builds the example app as versions 1..n into dir.
func appBuilds(dir string, n int) (map[int]string, error) {
	return appBuildsOf(dir, "./cmd/exampleapp", n)
}

// appBuildsOf builds versions 1..n of the app package pkg.
func appBuildsOf(dir, pkg string, n int) (map[int]string, error) {
	out := map[int]string{}
	for v := 1; v <= n; v++ {
		p := filepath.Join(dir, fmt.Sprintf("app-%d", v))
		if err := buildBinary(p, pkg, fmt.Sprintf("-X main.version=%d", v)); err != nil {
			return nil, err
		}
		out[v] = p
	}
	return out, nil
}

// buildAtCommit builds the reconciler command of commit rev of the clone
// bench runs from (git archive into work, then go build there).
func buildAtCommit(work, rev string) (string, error) {
	src := filepath.Join(work, "src-"+rev)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	tarball := src + ".tar"
	if err := runCmd("", "git", "archive", "--format=tar", "-o", tarball, rev); err != nil {
		return "", fmt.Errorf("git archive %s (bench runs from a clone): %w", rev, err)
	}
	if err := runCmd("", "tar", "-xf", tarball, "-C", src); err != nil {
		return "", err
	}
	out := filepath.Join(work, "reconciler-"+rev)
	if _, err := os.Stat(out); err == nil {
		return out, nil // built for another group of this run
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/reconciler")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build at %s: %v\n%s", rev, err, b)
	}
	return out, nil
}
