package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// prepare builds the app twice, serves the artifacts, and makes the deploy
// repo at 1.0.
func (d *demo) prepare(ctx context.Context) error {
	var err error
	if d.appAddr, err = testkit.FreeAddr(); err != nil {
		return err
	}
	d.bin = filepath.Join(d.ws, "bin", "reconciler")
	if err := buildReconciler(ctx, d.say, d.bin); err != nil {
		return err
	}
	artDir := filepath.Join(d.ws, "artifacts")
	digests, err := buildArtifacts(ctx, d.say, artDir, "1.0", "2.0")
	if err != nil {
		return err
	}
	if d.artURL, err = serveDir(ctx, artDir); err != nil {
		return err
	}
	d.say("%-28s %s", "artifact server", d.artURL)
	d.repo = &demoRepo{dir: filepath.Join(d.ws, "deploy-repo"), artURL: d.artURL, digests: digests, addr: d.appAddr}
	if err := d.repo.create(); err != nil {
		return fmt.Errorf("deploy repo: %w", err)
	}
	d.say("%-28s %s", "deploy repo", d.repo.dir)
	return nil
}

// buildArtifacts builds the example app as each version into dir
// (web-VERSION), says each build's time, and returns the sha256 of each.
func buildArtifacts(ctx context.Context, say func(string, ...any), dir string, versions ...string) (map[string]string, error) {
	digests := map[string]string{}
	for _, v := range versions {
		start := time.Now()
		sum, err := buildExampleApp(ctx, v, filepath.Join(dir, "web-"+v))
		if err != nil {
			return nil, err
		}
		digests[v] = sum
		say("%-28s %-20s %s", "built example app "+v, "sha256 "+sum[:12], time.Since(start).Round(time.Millisecond))
	}
	return digests, nil
}

// buildExampleApp builds cmd/exampleapp with version v into out.
func buildExampleApp(ctx context.Context, v, out string) (string, error) {
	src, err := findModuleDir("cmd/exampleapp")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "-ldflags", "-X main.version="+v, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build example app %s: %v\n%s", v, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// findModuleDir finds a directory of this repository from the working
// directory upwards (the demo runs from a clone: `go run ./cmd/reconciler demo`).
func findModuleDir(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
				return filepath.Join(dir, rel), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found: run the demo from a clone of the repository", rel)
		}
		dir = parent
	}
}

// serveDir serves dir on 127.0.0.1 until ctx ends.
func serveDir(ctx context.Context, dir string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close() }()
	return "http://" + ln.Addr().String(), nil
}

// runAgent runs the real agent of `reconciler run` on the demo's app dir.
func (d *demo) runAgent(ctx context.Context, logw io.Writer) error {
	return demoAgent{bin: d.bin, repo: "file://" + d.repo.dir, dir: d.appDir, app: d.appAddr}.run(ctx, logw)
}

// demoAgent is the agent of one host of a demo: the real `reconciler run`,
// a child process of the demo's, with a one-second schedule and a short
// bake.
type demoAgent struct {
	bin       string // the reconciler binary built for the demo
	repo, dir string
	hostID    string // "": the host name
	app       string // the app's address, for the health check
	exec      string // how the app is started; "": the default
	listen    string // where /metrics and /status are served; "": nowhere
}

// args are the agent's command line.
func (a demoAgent) args() []string {
	args := []string{"run", "--repo", a.repo, "--path", "web/current.conf", "--dir", a.dir,
		"--health-url", "http://" + a.app + "/healthz", "--health-timeout", "20s", "--health-bake", demoBake.String(),
		"--schedule", "@every 1s", "--max-backoff", "5s", "--log-format", "text"}
	for _, f := range [][2]string{{"--host-id", a.hostID}, {"--exec", a.exec}, {"--listen", a.listen}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	return args
}

// run runs the agent until ctx ends, then stops it as systemd would
// (SIGTERM) and waits; its log goes to logw.
func (a demoAgent) run(ctx context.Context, logw io.Writer) error {
	cmd := exec.CommandContext(ctx, a.bin, a.args()...)
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.Env = agentEnv()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("reconciler run: %w", err)
}

// agentEnv is the demo's environment without RECONCILER_* settings, so
// that a user's own (an exported RECONCILER_REPO) cannot steer the demo's
// agents.
func agentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RECONCILER_") {
			env = append(env, kv)
		}
	}
	return env
}

// buildReconciler builds cmd/reconciler into out: the demo's agents and
// its diff run that binary, as a server would.
func buildReconciler(ctx context.Context, say func(string, ...any), out string) error {
	src, err := findModuleDir("cmd/reconciler")
	if err != nil {
		return err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build reconciler: %v\n%s", err, b)
	}
	say("%-28s %-20s %s", "built reconciler", filepath.Base(out), time.Since(start).Round(time.Millisecond))
	return nil
}

// prefixLines is a writer for one agent's log among several: each line
// is written whole, after prefix, to w (shared, guarded by mu).
type prefixLines struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixLines) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

// demoRepo is the demo's deploy repo, made with the git CLI from
// deploy-repo-example/.
type demoRepo struct {
	dir, artURL, addr string
	digests           map[string]string
	bare              string // the shared copy commits are pushed to; "": none
}

func (r *demoRepo) create() error {
	example, err := findModuleDir("deploy-repo-example")
	if err != nil {
		return err
	}
	if err := copyTree(example, r.dir); err != nil {
		return err
	}
	if _, err := r.git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := r.writeVersion("1.0"); err != nil {
		return err
	}
	_, err = r.commit("web 1.0")
	return err
}

// writeVersion points web/current.conf at version v on the local store,
// with the config the demo's app needs.
func (r *demoRepo) writeVersion(v string) error {
	return r.writeRelease(v, v, map[string]string{"listen": r.addr, "message": demoMessage(v)})
}

// writeRelease points web/current.conf at version v: the binary built as
// version bin, and cfg.
func (r *demoRepo) writeRelease(v, bin string, cfgKeys map[string]string) error {
	d, err := r.release(v, bin, cfgKeys)
	if err != nil {
		return err
	}
	return r.writeDesired(d)
}

// release writes the config of version v, cfgKeys, and returns the
// desired state of v: the binary built as version bin, and that config.
func (r *demoRepo) release(v, bin string, cfgKeys map[string]string) (reconcile.Desired, error) {
	cfg, _ := json.MarshalIndent(cfgKeys, "", "  ")
	if err := os.WriteFile(filepath.Join(r.dir, "web", "cfg-"+v+".json"), append(cfg, '\n'), 0o644); err != nil {
		return reconcile.Desired{}, err
	}
	return reconcile.Desired{
		Version: v,
		Bin:     &reconcile.Artifact{URL: r.artURL + "/web-" + bin, SHA256: r.digests[bin]},
		Cfg:     &reconcile.Artifact{Path: "web/cfg-" + v + ".json"},
	}, nil
}

// writeDesired writes web/current.conf, checked as the agents will read it.
func (r *demoRepo) writeDesired(d reconcile.Desired) error {
	const path = "web/current.conf"
	data, err := d.MarshalIndent()
	if err == nil {
		_, err = reconcile.ParseDesired(path, data)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.WriteFile(filepath.Join(r.dir, path), data, 0o644)
}

// proposeBump commits 2.0 on the branch next, as a pull request would:
// main, which the agent follows, does not move.
func (r *demoRepo) proposeBump() (string, error) {
	if _, err := r.git("checkout", "-q", "-b", "next"); err != nil {
		return "", err
	}
	if err := r.writeVersion("2.0"); err != nil {
		return "", err
	}
	rev, err := r.commit("web 2.0")
	if err == nil {
		_, err = r.git("checkout", "-q", "main")
	}
	return rev, err
}

// merge fast-forwards main to next: the bump lands.
func (r *demoRepo) merge() (string, error) {
	if _, err := r.git("merge", "-q", "--ff-only", "next"); err != nil {
		return "", err
	}
	return r.git("rev-parse", "HEAD")
}

// broken commits 1.1: the 1.0 binary with a config that makes it exit a
// second after it starts, after it has passed its health check.
func (r *demoRepo) broken() (string, error) {
	if err := r.writeRelease("1.1", "1.0", map[string]string{"listen": r.addr, "message": demoMessage("1.1"), "crash_after": "1s"}); err != nil {
		return "", err
	}
	return r.commit("web 1.1 (crashes a second after it starts)")
}

func (r *demoRepo) revert() (string, error) {
	if _, err := r.git("revert", "--no-edit", "HEAD"); err != nil {
		return "", err
	}
	return r.git("rev-parse", "HEAD")
}

// commit commits every change, and pushes it once the repo is shared.
func (r *demoRepo) commit(msg string) (string, error) {
	if _, err := r.git("add", "-A"); err != nil {
		return "", err
	}
	if _, err := r.git("commit", "-q", "-m", msg); err != nil {
		return "", err
	}
	if r.bare != "" {
		if _, err := r.git("push", "-q", "origin", "main"); err != nil {
			return "", err
		}
	}
	return r.git("rev-parse", "HEAD")
}

// share makes a bare copy of the repo at bare, as on a git host: agents
// follow it and promote pushes to it; commits are pushed there from now
// on.
func (r *demoRepo) share(bare string) error {
	if _, err := r.git("clone", "-q", "--bare", r.dir, bare); err != nil {
		return err
	}
	if _, err := r.git("remote", "add", "origin", bare); err != nil {
		return err
	}
	r.bare = bare
	return nil
}

// head is the commit the shared repo's main points at.
func (r *demoRepo) head() (string, error) {
	return r.git("--git-dir", r.bare, "rev-parse", "main")
}

// pull brings the work tree up to the shared repo, where promote pushes.
func (r *demoRepo) pull() error {
	_, err := r.git("pull", "-q", "--ff-only", "origin", "main")
	return err
}

func (r *demoRepo) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=reconciler demo", "GIT_AUTHOR_EMAIL=demo@localhost",
		"GIT_COMMITTER_NAME=reconciler demo", "GIT_COMMITTER_EMAIL=demo@localhost")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := e.Info()
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
