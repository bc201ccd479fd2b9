package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/bump"
)

// TestBumpSurgical: hand-formatted desired files (tabs, a key order of
// their own, spaces before colons, a final newline or none) are bumped
// over file:// and smart HTTP; git diff shows only the changed values,
// every other byte is the same, and the commit says "web: 1.0 -> 2.0".
func TestBumpSurgical(t *testing.T) {
	for _, transport := range []string{"file", "http"} {
		for _, newline := range []string{"\n", ""} {
			t.Run(fmt.Sprintf("%s, final newline %q", transport, newline), func(t *testing.T) {
				r := newBumpRemote(t, nil)
				oldURL, oldSum, _ := r.publish("web", "1.0")
				hand := "{\n\t\"cfg\"  : {\"path\":\"web/cfg-1.0.json\"},\n\t\"bin\":{\n\t\t\"sha256\" :\t\"" + oldSum +
					"\",\n\t\t\"url\": \"" + oldURL + "\"\n\t},\n\n\t\"version\":\"1.0\"\n}" + newline
				r.repo.WriteFile("web/current.conf", []byte(hand))
				r.repo.WriteFile("web/cfg-1.0.json", []byte("{}"))
				r.repo.Commit("web 1.0")
				r.repo.Git("push", "-q", r.bare, "HEAD:main")
				before := r.git("rev-parse", "main")

				args := r.bumpArgs(transport, "web", "2.0")
				out, errOut, code := runCLI(t, args...)
				if code != 0 {
					t.Fatalf("bump: exit %d: %s%s", code, out, errOut)
				}
				rev := strings.TrimSpace(out)
				if got := r.git("rev-parse", "main"); got != rev {
					t.Fatalf("bump printed %s, main is at %s", rev, got)
				}
				newURL, newSum, _ := r.publish("web", "2.0")
				want := strings.NewReplacer(oldURL, newURL, oldSum, newSum, `"1.0"`, `"2.0"`).Replace(hand)
				if got := r.raw("web/current.conf"); got != want {
					t.Errorf("the file after bump:\n%q\nwant\n%q", got, want)
				}
				if got := r.git("diff", "--name-only", before, rev); got != "web/current.conf" {
					t.Errorf("files changed: %q", got)
				}
				diff := r.git("diff", "-U0", before, rev)
				if n := strings.Count(diff, "\n-\t"); n != 3 {
					t.Errorf("git diff: %d lines removed, want the 3 that hold a changed value:\n%s", n, diff)
				}
				if got := r.git("log", "-1", "--format=%an|%s", rev); got != "reconciler bump|web: 1.0 -> 2.0" {
					t.Errorf("commit: %q", got)
				}
			})
		}
	}
}

// TestBumpNoChangeAndImmutable: the same bump again commits nothing and
// exits 0; a version the file named before with another digest is
// refused, at the head and in the history, and nothing is pushed.
func TestBumpNoChangeAndImmutable(t *testing.T) {
	r := newBumpRemote(t, nil)
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	url, sum, _ := r.publish("web", "2.0")
	bump := func(version, url, sum string) (string, string, int) {
		return runCLI(t, "bump", "--repo", r.url("file"), "--path", "web/current.conf", "--version", version,
			"--bin-url", url, "--bin-sha256", sum)
	}
	if out, errOut, code := bump("2.0", url, sum); code != 0 {
		t.Fatalf("bump: exit %d %s%s", code, out, errOut)
	}
	head := r.git("rev-parse", "main")
	out, errOut, code := bump("2.0", url, strings.ToUpper(sum))
	if code != 0 || strings.TrimSpace(out) != head || !strings.Contains(errOut, "nothing to commit") {
		t.Errorf("the same bump again: exit %d, %q %q; want 0, the head %s, nothing to commit", code, out, errOut, head)
	}
	if got := r.git("rev-parse", "main"); got != head {
		t.Errorf("a bump with nothing to change moved main to %s", got)
	}
	other := sha([]byte("rebuilt"))
	for _, v := range []string{"2.0", "1.0"} { // at the head, in the history
		_, errOut, code := bump(v, url, other)
		if code != 1 || !strings.Contains(errOut, "immutable") || !strings.Contains(errOut, "version "+v) {
			t.Errorf("version %s with another digest: exit %d, %q; want 1 and an immutability error", v, code, errOut)
		}
	}
	if got := r.git("rev-parse", "main"); got != head {
		t.Errorf("a refused bump moved main to %s", got)
	}
}

// TestBumpBadInput: each mistake gets a clear error naming what is wrong,
// exit 2 for the command line and 1 for what the repo or the artifact
// store says, and nothing is pushed.
func TestBumpBadInput(t *testing.T) {
	r := newBumpRemote(t, map[string]string{"notes.txt": "not JSON\n", "web/list.conf": "[1, 2]\n"})
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	head := r.git("rev-parse", "main")
	url, sum, file := r.publish("web", "2.0")
	r.art.setFault("/web/404/web", "404")
	repoFile := filepath.Join(t.TempDir(), "cfg.json")
	os.WriteFile(repoFile, []byte("{}"), 0o644)
	base := []string{"bump", "--repo", r.url("http"), "--version", "2.0"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"missing file", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-file", file + ".missing"}, 2, []string{"--bin-file", "no such file"}},
		{"missing repo file", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-sha256", sum, "--cfg-repo-file", repoFile + ".missing", "--cfg-path", "web/cfg-2.0.json"}, 2, []string{"--cfg-repo-file"}},
		{"path outside the repo", []string{"--path", "../web/current.conf", "--bin-url", url, "--bin-sha256", sum}, 2, []string{"--path", `".."`}},
		{"repo path outside the repo", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-sha256", sum, "--cfg-repo-file", repoFile, "--cfg-path", "/etc/cfg.json"}, 2, []string{"--cfg-path", "absolute"}},
		{"bad version", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-sha256", sum, "--version", ".2/0"}, 2, []string{"--version", "1 to 64"}},
		{"not a desired file", []string{"--path", "notes.txt", "--bin-url", url, "--bin-sha256", sum}, 1, []string{"notes.txt", "invalid desired state"}},
		{"not an object", []string{"--path", "web/list.conf", "--bin-url", url, "--bin-sha256", sum}, 1, []string{"web/list.conf", "invalid desired state"}},
		{"no such desired file", []string{"--path", "api/current.conf", "--bin-url", url, "--bin-sha256", sum}, 1, []string{"api/current.conf", "commit the first one by hand"}},
		{"URL 404", []string{"--path", "web/current.conf", "--bin-url", r.art.URL + "/web/404/web?token=s3cret"}, 1, []string{"--bin-url", "404", "/web/404/web"}},
		{"file without URL", []string{"--path", "web/current.conf", "--bin-file", file}, 2, []string{"--bin-url"}},
		{"file and digest", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-file", file, "--bin-sha256", sum}, 2, []string{"not both"}},
		{"bad digest", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-sha256", "abc"}, 2, []string{"--bin-sha256", "64 hex"}},
		{"URL and repo file", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-repo-file", file, "--bin-path", "web/bin"}, 2, []string{"--bin-repo-file"}},
		{"no bin source", []string{"--path", "web/current.conf", "--cfg-url", url, "--cfg-sha256", sum}, 2, []string{"bin source is required"}},
		{"oci without file", []string{"--path", "web/current.conf", "--bin-oci", "registry.example.com/web:2.0"}, 2, []string{"--bin-oci goes with --bin-file"}},
		{"oci and URL", []string{"--path", "web/current.conf", "--bin-oci", "registry.example.com/web", "--bin-file", file, "--bin-url", url}, 2, []string{"--bin-oci goes with --bin-file"}},
		{"unsupported scheme", []string{"--path", "web/current.conf", "--bin-url", "ftp://a/web", "--bin-sha256", sum}, 2, []string{"--bin-url", "ftp"}},
		{"{hostname}", []string{"--path", "hosts/{hostname}/web.conf", "--bin-url", url, "--bin-sha256", sum}, 2, []string{"{hostname}"}},
		{"bad branch", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-sha256", sum, "--branch", "a..b"}, 2, []string{"--branch"}},
		{"unknown flag", []string{"--path", "web/current.conf", "--bin-url", url, "--bin-sha256", sum, "--bin-sha265", sum}, 2, []string{"unknown flag: --bin-sha265"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append(base, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "s3cret") {
				t.Errorf("stderr shows a credential: %q", errOut)
			}
			if got := r.git("rev-parse", "main"); got != head {
				t.Errorf("main moved to %s", got)
			}
		})
	}
	if n := r.git("for-each-ref", "--count=2", "refs/heads"); strings.Count(n, "\n") != 0 {
		t.Errorf("branches on the remote: %s", n)
	}
}

// TestBumpSourcesDryRunJSON: --bin-url alone is downloaded and hashed;
// --cfg-repo-file commits the config next to the bump; --dry-run prints
// the diff and the message and pushes nothing; --json says old, new,
// commit and branch; --branch pushes to a new branch and leaves main;
// RECONCILER_VERSION gives the version.
func TestBumpSourcesDryRunJSON(t *testing.T) {
	r := newBumpRemote(t, nil)
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	head := r.git("rev-parse", "main")
	url, sum, _ := r.publish("web", "2.0")
	cfg := filepath.Join(t.TempDir(), "cfg.json")
	os.WriteFile(cfg, []byte(`{"port": 8080}`), 0o644)
	t.Setenv("RECONCILER_VERSION", "2.0") // bump's --version, as every flag, from the environment
	args := []string{"bump", "--repo", r.url("http"), "--path", "web/current.conf",
		"--bin-url", url, "--cfg-repo-file", cfg, "--cfg-path", "web/cfg-2.0.json"}

	out, errOut, code := runCLI(t, append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "--- a/web/current.conf\n+++ b/web/current.conf\n") ||
		!strings.Contains(out, `+	"version": "2.0",`) || !strings.Contains(out, sum) ||
		!strings.Contains(out, `"cfg": {`) || !strings.Contains(out, "web: 1.0 -> 2.0") {
		t.Errorf("--dry-run: exit %d\n%s%s", code, out, errOut)
	}
	if got := r.git("rev-parse", "main"); got != head {
		t.Errorf("--dry-run moved main to %s", got)
	}

	out, errOut, code = runCLI(t, append(args, "--json", "--branch", "bump/web-2.0")...)
	var res bump.Result
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if res.Old.Version != "1.0" || res.New.Version != "2.0" || res.New.Bin.SHA256 != sum || res.New.Cfg.Path != "web/cfg-2.0.json" ||
		res.Branch != "bump/web-2.0" || res.Commit != r.git("rev-parse", "bump/web-2.0") {
		t.Errorf("--json: got %+v", res)
	}
	if got := r.git("rev-parse", "main"); got != head {
		t.Errorf("--branch moved main to %s", got)
	}
	if got := r.git("show", "bump/web-2.0:web/cfg-2.0.json"); got != `{"port": 8080}` {
		t.Errorf("the committed config: %q", got)
	}
	if got := r.git("diff", "--name-only", head, "bump/web-2.0"); got != "web/cfg-2.0.json\nweb/current.conf" {
		t.Errorf("files of the bump: %q", got)
	}
}

// TestBumpRolloutID: --rollout names its id after a space, as SPEC writes
// it, or after "="; alone, <app>-<version>; any other argument is a usage
// error.
func TestBumpRolloutID(t *testing.T) {
	r := newBumpRemote(t, nil)
	r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	url, sum, _ := r.publish("web", "2.0")
	base := []string{"bump", "--repo", r.url("file"), "--path", "web/current.conf", "--version", "2.0",
		"--bin-url", url, "--bin-sha256", sum, "--dry-run", "--json"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rollout", "web-canary"}, "web-canary"},
		{[]string{"--rollout=web-eq"}, "web-eq"},
		{[]string{"--rollout"}, "web-2.0"},
	} {
		out, errOut, code := runCLI(t, append(base, tc.args...)...)
		var res bump.Result
		if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Rollout != tc.want {
			t.Errorf("%q: exit %d, rollout %q (%v %s); want %q", tc.args, code, res.Rollout, err, errOut, tc.want)
		}
	}
	if _, errOut, code := runCLI(t, append(base, "stray")...); code != 2 || !strings.Contains(errOut, "no arguments") {
		t.Errorf("a stray argument: exit %d, %q; want 2", code, errOut)
	}
}
