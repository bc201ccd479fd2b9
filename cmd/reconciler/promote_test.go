package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/promtest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// fleetFixture is a fleet of simulated agents scraped by a real
// Prometheus, and a real deploy repo served over smart HTTP that accepts
// pushes: what reconciler promote works with. The agents do what the real
// ones do with a rollout (reconcile.WaveOf), when the test says they poll.
type fleetFixture struct {
	t      *testing.T
	repo   *gittest.Repo // a person's clone, pushing to bare
	bare   string        // the deploy repo, as on a git host
	url    string        // bare's, over smart HTTP
	prom   *promtest.Server
	agents []*promtest.Agent
	failed map[string]bool // hosts whose switch to the rollout's version fails

	mu       sync.Mutex
	onPush   func() // run once, before the next push reaches git
	signKey  string
	signerPK string // its allowed-signers line
}

const rolloutPath = "web/current.conf"

func newFleetFixture(t *testing.T, hosts ...string) *fleetFixture {
	f := &fleetFixture{t: t, failed: map[string]bool{}}
	var addrs []string
	for _, h := range hosts {
		a := promtest.NewAgent(h)
		t.Cleanup(a.Close)
		a.SetPoll(time.Now(), "", "")
		f.agents = append(f.agents, a)
		addrs = append(addrs, a.Addr)
	}
	f.prom = promtest.New(t, promtest.Options{Targets: map[string][]string{"reconciler": addrs}})
	f.repo = gittest.NewRepo(t)
	f.repo.Commit("empty")
	root := t.TempDir()
	f.bare = filepath.Join(root, "deploy.git")
	f.repo.Git("clone", "-q", "--bare", f.repo.Dir, f.bare)
	h, err := gittest.NewHandler(root, gittest.AllowPush())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			f.mu.Lock()
			hook := f.onPush
			f.onPush = nil
			f.mu.Unlock()
			if hook != nil {
				hook()
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/deploy.git"

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "promote")
	if err != nil {
		t.Fatal(err)
	}
	f.signKey = filepath.Join(t.TempDir(), "promote_ed25519")
	if err := os.WriteFile(f.signKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	f.signerPK = "promote@example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := f.prom.WaitUp(ctx, len(hosts)); err != nil {
		t.Fatal(err)
	}
	return f
}

// rolloutFile is web 2.0 (rollout id) rolled out from 1.9 with this
// rollout block body.
func rolloutFile(id, body string) string {
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	return fmt.Sprintf(`{"version": "2.0", "bin": {"url": "https://a.example/web/2.0", "sha256": %q},
  "rollout": {"id": %q, "from": {"version": "1.9", "bin": {"url": "https://a.example/web/1.9", "sha256": %q}}, %s}}
`, sha, id, sha, body)
}

// git runs git on the deploy repo.
func (f *fleetFixture) git(args ...string) string {
	f.t.Helper()
	return f.repo.Git(append([]string{"--git-dir", f.bare}, args...)...)
}

// commit is a person (or a second writer) pushing files to the deploy
// repo's branch, on top of whatever is there.
func (f *fleetFixture) commit(msg string, files map[string]string) string {
	f.t.Helper()
	f.repo.Git("fetch", "-q", f.bare, "main")
	f.repo.Git("reset", "-q", "--hard", "FETCH_HEAD")
	for name, data := range files {
		f.repo.WriteFile(name, []byte(data))
	}
	rev := f.repo.Commit(msg)
	f.repo.Git("push", "-q", f.bare, "HEAD:main")
	return rev
}

// desired reads the file at the tip of the deploy repo's branch.
func (f *fleetFixture) desired() reconcile.Desired {
	f.t.Helper()
	d, err := reconcile.ParseDesired(rolloutPath, []byte(f.git("show", "main:"+rolloutPath)))
	if err != nil {
		f.t.Fatalf("the deploy repo's file: %v", err)
	}
	return d
}

// poll is every agent reading the branch's tip: out of the wave, out;
// newly in it, pending (settle applies); already applied, applied; a host
// set to fail, failed. With no rollout, the agents report none.
func (f *fleetFixture) poll(id string) {
	f.t.Helper()
	d := f.desired()
	rev := f.git("rev-parse", "main")
	for _, a := range f.agents {
		a.SetPoll(time.Now(), "", "")
		if d.Rollout == nil {
			a.DropRollout(id)
			a.SetApplied(d.Version, rev)
			continue
		}
		w := reconcile.WaveOf(&d, a.HostID, f.failed[a.HostID])
		switch {
		case f.failed[a.HostID]:
			a.SetRollout(id, "failed", *d.Rollout.Percent)
			a.SetApplied("1.9", rev)
		case w.In:
			a.SetRollout(id, "pending", *d.Rollout.Percent)
		default:
			a.SetRollout(id, "out", *d.Rollout.Percent)
			a.SetApplied("1.9", rev)
		}
	}
}

// settle is every pending agent done switching: applied.
func (f *fleetFixture) settle(id string) {
	d := f.desired()
	for _, a := range f.agents {
		if d.Rollout != nil && reconcile.WaveOf(&d, a.HostID, f.failed[a.HostID]).In && !f.failed[a.HostID] {
			a.SetRollout(id, "applied", *d.Rollout.Percent)
			a.SetApplied("2.0", f.git("rev-parse", "main"))
		}
	}
}

// promote runs reconciler promote once and returns its line and exit code.
func (f *fleetFixture) promote(extra ...string) (string, string, int) {
	f.t.Helper()
	args := append([]string{"promote", "--repo", f.url, "--path", rolloutPath, "--prometheus", f.prom.URL, "--sign-key", f.signKey, "-v"}, extra...)
	return runCLI(f.t, args...)
}

// promoteUntil runs promote until its line contains want, and fails the
// test on a line that contains none of the allowed ones.
func (f *fleetFixture) promoteUntil(want string, allowed ...string) string {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, errOut, code := f.promote()
		if code != 0 {
			f.t.Fatalf("promote: exit %d: %s%s", code, out, errOut)
		}
		if strings.Contains(out, want) {
			return out
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(out, a)
		}
		if !ok {
			f.t.Fatalf("promote while waiting for %q: got %q", want, out)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("promote: still %q, not %q", out, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestPromoteWithPrometheus takes a rollout from its canary to the whole
// fleet with the real command, a real Prometheus scraping the agents' metrics
// every second and a real deploy repo it pushes signed commits to: hold on
// no data, on pending hosts, on hosts that have not read the new percent
// and while soaking; advance; finish. Then a failing check halts another
// rollout, and a second writer pushing meanwhile makes promote decide again.
func TestPromoteWithPrometheus(t *testing.T) {
	f := newFleetFixture(t, "web-1", "web-2", "web-3", "web-4", "web-5", "web-6")
	for _, a := range f.agents {
		a.SetGauge("test_error_ratio", 0.001)
	}
	const id = "web-2.0"
	check := `"checks": [{"query": "max(test_error_ratio)", "max": 0.01}]`
	start := f.commit("rollout web-2.0 at the canary", map[string]string{
		rolloutPath: rolloutFile(id, `"canary": ["web-1"], "percent": 0,
    "steps": [{"percent": 0, "soak": "2s"}, {"percent": 50, "soak": "2s"}, {"percent": 100, "soak": "2s"}], `+check),
		"other.conf": "another app\n"})

	// No agent reports the rollout yet.
	out, errOut, code := f.promote()
	if code != 0 || !strings.Contains(out, "hold: rollout web-2.0 at 0%: missing data: no agent reports rollout web-2.0") {
		t.Fatalf("promote before any agent read the rollout: exit %d, %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "promote: 2 Prometheus queries, 1 decision(s), ") {
		t.Errorf("promote -v: got %q, want the queries and the wall time", errOut)
	}
	f.poll(id)
	f.promoteUntil("1 of 1 hosts in the wave not yet applied (web-1)", "missing data: canary web-1 not reporting", "missing data: no agent")
	f.settle(id)
	out = f.promoteUntil("advance: rollout web-2.0: 0% -> 50% (1 of 1 hosts applied, 1 check passes, soaked 2s) [pushed ",
		"soaking", "not yet applied", "missing data")
	if d := f.desired(); *d.Rollout.Percent != 50 || len(d.Rollout.Canary) != 1 {
		t.Errorf("after the advance, the file: %+v", d.Rollout)
	}
	if got := f.git("log", "-1", "--format=%an|%s", "main"); got != "reconciler promote|rollout web-2.0: 0% -> 50% (1 of 1 hosts applied, 1 check passes, soaked 2s)" {
		t.Errorf("the advance commit: got %q (line %q)", got, out)
	}

	// The agents have not polled since: they report 0%.
	f.promoteUntil("have not read 50% yet", "soaking")
	out, _, _ = f.promote("--dry-run")
	if !strings.HasPrefix(out, "hold: ") {
		t.Errorf("promote --dry-run on a hold: got %q", out)
	}
	f.poll(id)
	f.settle(id)
	f.promoteUntil("advance: rollout web-2.0: 50% -> 100% (", "soaking", "have not read", "not yet applied", "missing data")
	f.poll(id)
	f.settle(id)
	f.promoteUntil("finish: rollout web-2.0: finished, 2.0 everywhere (6 of 6 hosts applied, 1 check passes, soaked 2s) [pushed ",
		"soaking", "have not read", "not yet applied", "missing data")
	if d := f.desired(); d.Rollout != nil || d.Version != "2.0" {
		t.Errorf("after finish, the file has rollout %+v, version %s; want the plain desired file", d.Rollout, d.Version)
	}
	if out, _, code := f.promote(); code != 0 || !strings.HasPrefix(out, "none: web/current.conf has no rollout block") {
		t.Errorf("promote after finish: exit %d, %q", code, out)
	}
	f.checkSigned(start, 3)

	t.Run("a failing check halts", func(t *testing.T) {
		f.t = t
		for _, a := range f.agents {
			a.SetGauge("test_error_ratio_b", 0.001)
		}
		f.commit("rollout web-2.0b at 50%", map[string]string{rolloutPath: rolloutFile("web-2.0b", `"canary": ["web-2"], "percent": 50,
		    "steps": [{"percent": 50, "soak": "1h"}], "checks": [{"query": "max(test_error_ratio_b)", "max": 0.01}]`)})
		f.poll("web-2.0b")
		f.settle("web-2.0b")
		f.promoteUntil("soaking: healthy for", "missing data", "not yet applied", "have not read")
		f.agents[2].SetGauge("test_error_ratio_b", 0.5)
		out := f.promoteUntil("halt: rollout web-2.0b: halted at 50% (check 1 out of bounds: 0.5 > max 0.01 (max(test_error_ratio_b))); on_halt revert: percent 0, every host back to from [pushed ",
			"soaking")
		d := f.desired()
		if d.Rollout.Halted == nil || *d.Rollout.Percent != 0 || len(d.Rollout.Canary) != 0 {
			t.Errorf("after the halt (%s), the rollout: %+v", out, d.Rollout)
		}
		out, _, code := f.promote()
		if code != 0 || !strings.Contains(out, "hold: rollout web-2.0b at 0%: halted ") || !strings.Contains(out, "a person decides") {
			t.Errorf("promote on a halted rollout: exit %d, %q", code, out)
		}
	})

	t.Run("a push race: promote decides again", func(t *testing.T) {
		f.t = t
		f.commit("rollout web-2.0c at 100%", map[string]string{rolloutPath: rolloutFile("web-2.0c", `"percent": 100, "steps": [{"percent": 100, "soak": "1s"}]`)})
		f.poll("web-2.0c")
		f.settle("web-2.0c")
		f.promoteUntil("soaking", "missing data", "not yet applied", "have not read", "finish") // data there
		var theirs string
		f.mu.Lock()
		f.onPush = func() { // someone pushes an unrelated change first
			theirs = f.commit("another app", map[string]string{"other.conf": "another app, changed\n"})
		}
		f.mu.Unlock()
		out := f.promoteUntil("finish: rollout web-2.0c", "soaking", "missing data", "not yet applied", "have not read")
		if !strings.Contains(out, "after 1 pushes were refused]") {
			t.Errorf("promote through a push race: got %q, want it to say a push was refused", out)
		}
		if theirs == "" {
			t.Fatalf("the second writer did not push")
		}
		if got := f.git("rev-parse", "main~1"); got != theirs {
			t.Errorf("the finish commit's parent: got %s, want the second writer's %s", got, theirs)
		}
		if got := f.git("show", "main:other.conf"); got != "another app, changed" {
			t.Errorf("the second writer's change: got %q", got)
		}
	})

	t.Run("fleet", func(t *testing.T) {
		f.t = t
		out, errOut, code := runCLI(t, "fleet", "--prometheus", f.prom.URL, "--rollout", "web-2.0b", "--json")
		var hosts []map[string]any
		if err := json.Unmarshal([]byte(out), &hosts); code != 0 || err != nil {
			t.Fatalf("fleet --json: exit %d, %v: %s%s", code, err, out, errOut)
		}
		if len(hosts) != 6 || hosts[0]["host_id"] != "web-1" || hosts[0]["app"] != "reconciler" || hosts[0]["last_poll"] == nil {
			t.Errorf("fleet --rollout web-2.0b --json: got %s", out)
		}
		out, _, code = runCLI(t, "fleet", "--prometheus", f.prom.URL)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 7 || !strings.HasPrefix(lines[0], "HOST ") ||
			!strings.Contains(lines[1], "web-2.0c applied") {
			t.Errorf("fleet: exit %d:\n%s", code, out)
		}
	})
}

// checkSigned checks that the n commits promote made since base are
// signed by its key: git verify-commit accepts each, and an agent with
// --verify-ssh-allowed-signers accepts the head.
func (f *fleetFixture) checkSigned(base string, n int) {
	f.t.Helper()
	allowed := filepath.Join(f.t.TempDir(), "allowed_signers")
	if err := os.WriteFile(allowed, []byte(f.signerPK+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	revs := strings.Fields(f.git("rev-list", base+"..main"))
	if len(revs) != n {
		f.t.Fatalf("promote's commits: got %d, want %d", len(revs), n)
	}
	for _, rev := range revs {
		f.git("-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", rev) // fails the test if git refuses
	}
	trust, err := gitsrc.ParseTrust("", allowed)
	if err != nil {
		f.t.Fatal(err)
	}
	src, err := gitsrc.New(gitsrc.Options{URL: "file://" + f.bare})
	if err != nil {
		f.t.Fatal(err)
	}
	head, err := src.Fetch(f.t.Context(), "")
	if err == nil {
		_, err = src.VerifyCommit(f.t.Context(), head, trust)
	}
	if err != nil {
		f.t.Errorf("an agent verifying promote's commit: %v", err)
	}
}

// TestPromoteRefuses: bad settings, an untrusted head, Prometheus down:
// exit 2 with a message, nothing pushed.
func TestPromoteRefuses(t *testing.T) {
	r := gittest.NewRepo(t)
	r.WriteFile(rolloutPath, []byte(rolloutFile("web-2.0", `"percent": 10`)))
	head := r.Commit("rollout")
	dir := t.TempDir()
	_, pub := gittest.NewSSHKey(t)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	pubFile, allowed := filepath.Join(dir, "id.pub"), filepath.Join(dir, "allowed_signers")
	for name, data := range map[string]string{pubFile: line + "\n", allowed: "ops@example.com " + line + "\n"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	down := "http://" + freeAddr(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --prometheus", []string{"--repo", r.URL(), "--path", rolloutPath}, "--prometheus is required"},
		{"a bad --prometheus", []string{"--repo", r.URL(), "--path", rolloutPath, "--prometheus", "prometheus:9090"}, "want an http(s) URL"},
		{"{hostname} in --path", []string{"--repo", r.URL(), "--path", "hosts/{hostname}/web.conf", "--prometheus", down}, "{hostname} is for agents"},
		{"a public key as --sign-key", []string{"--repo", r.URL(), "--path", rolloutPath, "--prometheus", down, "--sign-key", pubFile}, "neither an armored OpenPGP secret key nor an OpenSSH private key"},
		{"an unsigned head", []string{"--repo", r.URL(), "--path", rolloutPath, "--prometheus", down, "--verify-ssh-allowed-signers", allowed}, "commit is not signed"},
		{"Prometheus down", []string{"--repo", r.URL(), "--path", rolloutPath, "--prometheus", down}, "no answer from Prometheus"},
		{"a missing file", []string{"--repo", r.URL(), "--path", "web/nope.conf", "--prometheus", down}, "file not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"promote"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, tc.want)
			}
		})
	}
	if got := r.Git("rev-parse", "main"); got != head {
		t.Errorf("the branch moved to %s", got)
	}
}

// TestPromoteEndToEnd: three real agents (reconciler run, each with its
// --host-id and --listen) follow a deploy repo; a real Prometheus scrapes
// them; reconciler promote alone takes the rollout from its canary to every
// host and finishes it, one pushed commit per step. One host joins
// mid-rollout, at 10%, and takes the side its bucket gives it (from).
func TestPromoteEndToEnd(t *testing.T) {
	d := newDeployRepo(t)
	file := d.rolloutDesired("1.9", "2.0", 0, "canary-a")
	file = strings.Replace(file, `"percent": 0}`, `"percent": 0, "steps": [{"percent": 0, "soak": "1s"}, {"percent": 10, "soak": "1s"}, {"percent": 50, "soak": "1s"}, {"percent": 100, "soak": "1s"}]}`, 1)
	d.commitDesired(file)
	bare := filepath.Join(t.TempDir(), "deploy.git")
	d.Git("clone", "-q", "--bare", d.Dir, bare)
	repo := "file://" + bare

	// Buckets in rollout web-2.0: web-001 655 (in at 10%), web-017 2335
	// (in at 50%); canary-a is named.
	hosts := []string{"canary-a", "web-001", "web-017"}
	dirs, listens := map[string]string{}, map[string]string{}
	start := func(h string) {
		startAgent(t, "--repo", repo, "--path", rolloutPath, "--dir", dirs[h], "--host-id", h,
			"--schedule", "@every 1s", "--listen", listens[h], "--restart", "none", "--log-format", "json")
	}
	var targets []string
	for _, h := range hosts {
		dirs[h], listens[h] = filepath.Join(t.TempDir(), h), freeAddr(t)
		targets = append(targets, listens[h])
	}
	// web-017 joins mid-rollout, once the wave is at 10%: it must take
	// from (it is out at 10%), then 2.0 at 50%.
	start("canary-a")
	start("web-001")
	prom := promtest.New(t, promtest.Options{Targets: map[string][]string{"web": targets}})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := prom.WaitUp(ctx, 2); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(120 * time.Second)
	var moves []string
	for {
		out, errOut, code := runCLI(t, "promote", "--repo", repo, "--path", rolloutPath, "--prometheus", prom.URL)
		if code != 0 || strings.HasPrefix(out, "halt") {
			t.Fatalf("promote: exit %d: %s%s", code, out, errOut)
		}
		if !strings.HasPrefix(out, "hold: ") {
			moves = append(moves, strings.TrimSpace(out))
			if len(moves) == 1 {
				start("web-017")
				waitFor(t, "web-017, new at 10%, to install from (1.9)", func() bool { return appliedVersion(t, dirs["web-017"]) == "1.9" })
			}
		}
		if strings.HasPrefix(out, "finish: ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("promote: still %q after %v", out, moves)
		}
		time.Sleep(300 * time.Millisecond)
	}
	want := []string{"0% -> 10% (1 of 1 hosts applied", "10% -> 50% (2 of 2 hosts applied", "50% -> 100% (3 of 3 hosts applied", "finished, 2.0 everywhere (3 of 3 hosts applied"}
	if len(moves) != len(want) {
		t.Fatalf("promote's moves: got %q, want %d", moves, len(want))
	}
	for i, w := range want {
		if !strings.Contains(moves[i], w) {
			t.Errorf("move %d: got %q, want %q", i+1, moves[i], w)
		}
	}
	for _, h := range hosts {
		waitFor(t, h+" on 2.0 after the finish", func() bool { return appliedVersion(t, dirs[h]) == "2.0" })
	}
	if got := d.Git("--git-dir", bare, "log", "-1", "--format=%s", "main"); !strings.HasPrefix(got, "rollout web-2.0: finished") {
		t.Errorf("the deploy repo's last commit: %q", got)
	}
}
