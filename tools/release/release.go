package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the tool's flags.
type options struct {
	Version string   // 1.2.3
	Release string   // the package revision, "1"
	Src     string   // the clone's root
	Out     string   // the output directory
	Archs   []string // GOARCH values
}

// release is one run: what it builds from and where it stages.
type release struct {
	options
	commit string    // the commit built, full hex
	epoch  time.Time // SOURCE_DATE_EPOCH, else the commit's time
	work   string    // a temporary directory, removed by cleanup
}

func newRelease(ctx context.Context, o options, sourceDateEpoch string) (*release, error) {
	o.Version = strings.TrimPrefix(o.Version, "v")
	src, err := filepath.Abs(o.Src)
	if err != nil {
		return nil, fmt.Errorf("-src %s: %w", o.Src, err)
	}
	if _, err := os.Stat(filepath.Join(src, "cmd", "reconciler")); err != nil {
		return nil, fmt.Errorf("-src %s is not a reconciler clone: %w", o.Src, err)
	}
	o.Src = src
	if o.Out, err = filepath.Abs(o.Out); err != nil {
		return nil, fmt.Errorf("-out %s: %w", o.Out, err)
	}
	r := &release{options: o}
	if r.commit, err = gitOutput(ctx, src, "rev-parse", "HEAD"); err != nil {
		return nil, err
	}
	if r.epoch, err = buildTime(ctx, src, sourceDateEpoch); err != nil {
		return nil, err
	}
	if r.work, err = os.MkdirTemp("", "reconciler-release-"); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *release) cleanup() { _ = os.RemoveAll(r.work) }

// buildTime is SOURCE_DATE_EPOCH when set, else the commit's time.
func buildTime(ctx context.Context, src, sourceDateEpoch string) (time.Time, error) {
	s := sourceDateEpoch
	if s == "" {
		var err error
		if s, err = gitOutput(ctx, src, "log", "-1", "--format=%ct"); err != nil {
			return time.Time{}, err
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w", strings.Join(args, " "), dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// make builds everything and returns the paths written, SHA256SUMS last.
func (r *release) make(ctx context.Context) ([]string, error) {
	bins := map[string]string{}
	for _, arch := range r.Archs {
		bin, err := r.buildAgent(ctx, arch)
		if err != nil {
			return nil, err
		}
		bins[arch] = bin
	}
	host, ok := bins[runtime.GOARCH]
	if !ok {
		var err error
		if host, err = r.buildAgent(ctx, runtime.GOARCH); err != nil {
			return nil, err
		}
	}
	docs, err := r.stageDocs(ctx, host)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, arch := range r.Archs {
		written, err := r.packageArch(arch, bins[arch], docs)
		if err != nil {
			return nil, err
		}
		files = append(files, written...)
	}
	sums, err := writeSums(r.Out, files)
	if err != nil {
		return nil, err
	}
	return append(files, sums), nil
}

// packageArch writes one architecture's tarball, .deb and .rpm.
func (r *release) packageArch(arch, bin string, docs *staged) ([]string, error) {
	tgz := filepath.Join(r.Out, fmt.Sprintf("reconciler_%s_linux_%s.tar.gz", r.Version, arch))
	if err := r.writeTarball(tgz, arch, bin, docs); err != nil {
		return nil, fmt.Errorf("tarball %s: %w", tgz, err)
	}
	deb := filepath.Join(r.Out, fmt.Sprintf("reconciler_%s_%s.deb", r.Version, arch))
	if err := r.writePackage("deb", deb, arch, bin, docs); err != nil {
		return nil, fmt.Errorf("deb %s: %w", deb, err)
	}
	rpm := filepath.Join(r.Out, fmt.Sprintf("reconciler-%s-%s.%s.rpm", r.Version, r.Release, rpmArch(arch)))
	if err := r.writePackage("rpm", rpm, arch, bin, docs); err != nil {
		return nil, fmt.Errorf("rpm %s: %w", rpm, err)
	}
	return []string{tgz, deb, rpm}, nil
}

// rpmArch is rpm's name of a GOARCH.
func rpmArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return goarch
}
