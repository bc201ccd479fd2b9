package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/storetest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// regGet asks the registry's API (as user, "" for none) and returns the
// status and body.
func regGet(t *testing.T, reg *storetest.Registry, user, pass, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ociRemote is a deploy repo whose web/current.conf says 1.0 (bin by URL,
// cfg from the repo), a registry, and a file CI built for 2.0.
type ociRemote struct {
	*bumpRemote
	reg        *storetest.Registry
	user, pass string
	config     string // docker config.json with user's credentials
}

func newOCIRemote(t *testing.T, o storetest.RegistryOptions) *ociRemote {
	r := &ociRemote{bumpRemote: newBumpRemote(t, nil), reg: storetest.NewRegistry(t, o)}
	for u, p := range o.Users {
		r.user, r.pass = u, p
	}
	url, sum, _ := r.publish("web", "1.0")
	r.repo.WriteFile("web/cfg.json", []byte("{}\n"))
	r.repo.WriteFile("web/current.conf", []byte(fmt.Sprintf("{\n  \"version\": \"1.0\",\n  \"bin\": {\"url\": %q, \"sha256\": %q},\n  \"cfg\": {\"path\": \"web/cfg.json\"}\n}\n", url, sum)))
	r.repo.Commit("web 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	r.config = filepath.Join(t.TempDir(), "config.json")
	writeDockerConfig(t, r.config, r.reg.Host, r.user, r.pass)
	return r
}

// build writes the binary CI built for version into a file named name.
func (r *ociRemote) build(version, name string) (string, string) {
	data := binary("oci " + version)
	p := filepath.Join(r.t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		r.t.Fatal(err)
	}
	return p, sha(data)
}

// bump runs reconciler bump of web/current.conf to version with args and
// the registry's flags.
func (r *ociRemote) bump(version string, args ...string) (string, string, int) {
	r.t.Helper()
	all := []string{"bump", "--repo", r.url("http"), "--path", "web/current.conf", "--version", version, "--registry-config", r.config}
	if r.reg.CA != nil {
		all = append(all, "--ca-file", r.reg.CA.CAFile)
	}
	return runCLI(r.t, append(all, args...)...)
}

// tags are the repository's tags ("" when the repository does not exist).
func (r *ociRemote) tags(repo string) string {
	r.t.Helper()
	code, body := regGet(r.t, r.reg, r.user, r.pass, "/v2/"+repo+"/tags/list")
	if code == http.StatusNotFound {
		return ""
	}
	var l struct{ Tags []string }
	if err := json.Unmarshal([]byte(body), &l); err != nil || code != http.StatusOK {
		r.t.Fatalf("tags of %s: %d %s", repo, code, body)
	}
	return strings.Join(l.Tags, ",")
}

// desired is web/current.conf at main, parsed.
func (r *ociRemote) desired() reconcile.Desired {
	r.t.Helper()
	d, err := reconcile.ParseDesired("web/current.conf", []byte(r.raw("web/current.conf")))
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// TestBumpOCI: against a registry with TLS (its own CA) and htpasswd
// basic auth, credentials in a docker config.json: a dry run says what it
// would push and pin and pushes nothing; a wrong credential is a clear
// error that names no password, and nothing is committed; the bump pushes
// the file as oras push would, commits the pins the dry run computed, and
// a real sync deploys the pinned artifact; the same bump again commits
// and pushes nothing; the version again with other bytes is refused
// before anything is pushed.
func TestBumpOCI(t *testing.T) {
	const pass = "Bump-Regi5try-Pa55"
	r := newOCIRemote(t, storetest.RegistryOptions{TLS: true, Users: map[string]string{"ci": pass}})
	file, sum := r.build("2.0", "web-linux-amd64")
	before := r.git("rev-parse", "main")
	ref := r.reg.Host + "/team/web"

	out, errOut, code := r.bump("2.0", "--bin-oci", ref, "--bin-file", file, "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: nothing pushed") || !strings.Contains(out, ref+":2.0") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	pinned := out[strings.Index(out, "pinned as ")+len("pinned as "):]
	pinned = pinned[:strings.Index(pinned, "\n")]
	if _, body := regGet(t, r.reg, "ci", pass, "/v2/_catalog"); strings.Contains(body, "team/web") {
		t.Errorf("after a dry run the registry holds team/web: %s", body)
	}
	if got := r.git("rev-parse", "main"); got != before {
		t.Errorf("a dry run moved main to %s", got)
	}

	writeDockerConfig(t, r.config, r.reg.Host, "ci", "wrong-"+pass)
	out, errOut, code = r.bump("2.0", "--bin-oci", ref, "--bin-file", file)
	if code != 1 || !strings.Contains(errOut, "access denied") || !strings.Contains(errOut, ref) {
		t.Errorf("a wrong credential: exit %d %s%s; want 1 and access denied naming %s", code, out, errOut, ref)
	}
	if strings.Contains(errOut, pass) {
		t.Errorf("the error shows the password: %s", errOut)
	}
	if got := r.git("rev-parse", "main"); got != before {
		t.Errorf("a refused push moved main to %s", got)
	}

	writeDockerConfig(t, r.config, r.reg.Host, "ci", pass)
	out, errOut, code = r.bump("2.0", "--bin-oci", ref, "--bin-file", file)
	if code != 0 {
		t.Fatalf("bump: exit %d %s%s", code, out, errOut)
	}
	rev := strings.TrimSpace(out)
	if got := r.git("rev-parse", "main"); got != rev {
		t.Fatalf("bump printed %s, main is at %s", rev, got)
	}
	want := reconcile.Artifact{OCI: pinned, File: "web-linux-amd64", SHA256: sum}
	if d := r.desired(); d.Version != "2.0" || *d.Bin != want || d.Cfg.Path != "web/cfg.json" {
		t.Errorf("the file says %s %+v %+v; want 2.0 %+v, the cfg kept", d.Version, *d.Bin, *d.Cfg, want)
	}
	if got := r.tags("team/web"); got != "2.0" {
		t.Errorf("tags: got %q, want 2.0 (the version)", got)
	}
	checkManifest(t, r, "team/web", pinned[strings.Index(pinned, "@")+1:], "web-linux-amd64", sum)

	dir := t.TempDir()
	mustSync(t, r.url("http"), dir, "--registry-config", r.config, "--ca-file", r.reg.CA.CAFile)
	assertLinks(t, dir, "2.0")
	if got, _, _ := fileSHA(filepath.Join(dir, "release", "app.2.0")); got != sum {
		t.Errorf("release/app.2.0: sha256 %s, want %s", got, sum)
	}

	out, errOut, code = r.bump("2.0", "--bin-oci", ref, "--bin-file", file)
	if code != 0 || strings.TrimSpace(out) != rev || !strings.Contains(errOut, "nothing to commit") || strings.Contains(errOut, "pushed") {
		t.Errorf("the same bump again: exit %d %q %q; want 0, %s, nothing to commit, nothing pushed", code, out, errOut, rev)
	}

	other, otherSum := r.build("2.0-rebuilt", "web-linux-amd64")
	out, errOut, code = r.bump("2.0", "--bin-oci", ref+":rebuilt", "--bin-file", other)
	if code != 1 || !strings.Contains(errOut, "immutable") {
		t.Errorf("2.0 with other bytes: exit %d %s%s; want 1, immutable", code, out, errOut)
	}
	if c, _ := regGet(t, r.reg, "ci", pass, "/v2/team/web/blobs/sha256:"+otherSum); c != http.StatusNotFound {
		t.Errorf("the refused bump's file is in the registry (HEAD blob: %d)", c)
	}
	if got := r.tags("team/web"); got != "2.0" {
		t.Errorf("tags after a refused bump: got %q, want 2.0", got)
	}
	if got := r.git("rev-parse", "main"); got != rev {
		t.Errorf("a refused bump moved main to %s", got)
	}
}

// checkManifest reads the pushed manifest as an agent would and checks it
// is the one oras push writes: an empty config, the artifact type, one
// layer titled title with the file's digest, and no created annotation.
func checkManifest(t *testing.T, r *ociRemote, repo, digest, title, sum string) {
	t.Helper()
	code, body := regGet(t, r.reg, r.user, r.pass, "/v2/"+repo+"/manifests/"+digest)
	if code != http.StatusOK {
		t.Fatalf("manifest %s: %d %s", digest, code, body)
	}
	if got := "sha256:" + sha([]byte(body)); got != digest {
		t.Errorf("the manifest's bytes hash to %s, want %s", got, digest)
	}
	var m struct {
		MediaType, ArtifactType string
		Config                  struct{ MediaType string }
		Layers                  []struct {
			Digest      string
			Annotations map[string]string
		}
		Annotations map[string]string
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.ArtifactType == "" ||
		m.Config.MediaType != "application/vnd.oci.empty.v1+json" || len(m.Layers) != 1 ||
		m.Layers[0].Digest != "sha256:"+sum || m.Layers[0].Annotations["org.opencontainers.image.title"] != title || m.Annotations != nil {
		t.Errorf("manifest: %s", body)
	}
}

// TestBumpOCIPlainHTTPBinAndCfg: a loopback registry over plain HTTP, no
// credentials; --bin-oci with a tag of its own and --cfg-oci (no tag: the
// version) in one bump; a sync deploys both.
func TestBumpOCIPlainHTTPBinAndCfg(t *testing.T) {
	r := newOCIRemote(t, storetest.RegistryOptions{})
	os.WriteFile(r.config, []byte("{}"), 0o600)
	bin, binSum := r.build("3.0+b7", "web")
	cfg := filepath.Join(t.TempDir(), "web.json")
	os.WriteFile(cfg, []byte(`{"listen": "127.0.0.1:0"}`), 0o644)
	out, errOut, code := r.bump("3.0+b7", "--bin-oci", r.reg.Host+"/team/web:build-7", "--bin-file", bin,
		"--cfg-oci", r.reg.Host+"/team/web-cfg", "--cfg-file", cfg, "--json")
	if code != 0 {
		t.Fatalf("bump: exit %d %s%s", code, out, errOut)
	}
	var res struct {
		Pushes []struct{ Ref, Pinned string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Pushes) != 2 {
		t.Fatalf("--json: %v %s", err, out)
	}
	if got := r.tags("team/web") + " " + r.tags("team/web-cfg"); got != "build-7 3.0_b7" {
		t.Errorf("tags: got %q, want build-7 (given) and 3.0_b7 (the version, + made _)", got)
	}
	d := r.desired()
	if d.Bin.OCI != res.Pushes[0].Pinned || d.Bin.SHA256 != binSum || d.Cfg.OCI != res.Pushes[1].Pinned || d.Cfg.File != "web.json" || d.Cfg.Path != "" {
		t.Errorf("the file says bin %+v cfg %+v; pushes %+v", *d.Bin, *d.Cfg, res.Pushes)
	}
	dir := t.TempDir()
	mustSync(t, r.url("file"), dir, "--registry-config", r.config)
	assertLinks(t, dir, "3.0+b7")
	if got, _ := os.ReadFile(filepath.Join(dir, "release", "cfg.3.0+b7")); string(got) != `{"listen": "127.0.0.1:0"}` {
		t.Errorf("release/cfg.3.0+b7: %q", got)
	}
}

// TestBumpOCIUsage: flag combinations that are no source, and references
// that are none, exit 2 naming the flag; nothing is pushed or committed.
func TestBumpOCIUsage(t *testing.T) {
	r := newOCIRemote(t, storetest.RegistryOptions{})
	file, sum := r.build("2.0", "web")
	before := r.git("rev-parse", "main")
	ref := r.reg.Host + "/team/web"
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--bin-oci", ref}, "--bin-oci goes with --bin-file"},
		{[]string{"--bin-oci", ref, "--bin-file", file, "--bin-url", "https://a.example/web"}, "--bin-oci goes with --bin-file"},
		{[]string{"--bin-oci", ref, "--bin-file", file, "--bin-sha256", sum}, "--bin-oci goes with --bin-file"},
		{[]string{"--bin-oci", ref + "@sha256:" + sum, "--bin-file", file}, "not a digest"},
		{[]string{"--bin-oci", "team/web", "--bin-file", file}, "name the registry"},
		{[]string{"--bin-oci", ref + ":-bad", "--bin-file", file}, "is not a tag"},
		{[]string{"--bin-oci", ref, "--bin-file", filepath.Join(t.TempDir(), "missing")}, "--bin-file"},
		{[]string{"--bin-url", "https://a.example/web", "--bin-file", file, "--cfg-oci", ref}, "--cfg-oci goes with --cfg-file"},
	} {
		out, errOut, code := r.bump("2.0", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.says) {
			t.Errorf("%q: exit %d %s%s; want 2 and %q", tc.args, code, out, errOut, tc.says)
		}
	}
	if _, body := regGet(t, r.reg, "", "", "/v2/_catalog"); strings.Contains(body, "team/") {
		t.Errorf("the registry holds a repository: %s", body)
	}
	if got := r.git("rev-parse", "main"); got != before {
		t.Errorf("main moved to %s", got)
	}
}

// TestBumpOCIRace: bumps of two apps with --bin-oci, at once, from the
// same head (the remote holds both pushes until both arrived): the one
// rejected is read again and pushed again, and both land, each pinning
// its own artifact; a sync of each deploys it.
func TestBumpOCIRace(t *testing.T) {
	r := newOCIRemote(t, storetest.RegistryOptions{})
	os.WriteFile(r.config, []byte("{}"), 0o600)
	r.repo.WriteFile("api/current.conf", []byte(r.raw("web/current.conf")))
	r.repo.Commit("api 1.0")
	r.repo.Git("push", "-q", r.bare, "HEAD:main")
	before := r.git("rev-parse", "main")
	r.holdPushes(2)
	apps := []string{"web", "api"}
	outs, errOuts, codes := make([]string, 2), make([]string, 2), make([]int, 2)
	sums := make([]string, 2)
	var wg sync.WaitGroup
	for i, app := range apps {
		file, sum := r.build(app+" 2.0", app)
		sums[i] = sum
		wg.Go(func() {
			outs[i], errOuts[i], codes[i] = runCLI(t, "bump", "--repo", r.url("http"), "--path", app+"/current.conf", "--version", "2.0",
				"--registry-config", r.config, "--bin-oci", r.reg.Host+"/team/"+app, "--bin-file", file, "--json")
		})
	}
	wg.Wait()
	retried := 0
	for i, app := range apps {
		var res struct {
			Attempts int
			Pushes   []struct{ Pinned string }
		}
		if codes[i] != 0 || json.Unmarshal([]byte(outs[i]), &res) != nil || len(res.Pushes) != 1 {
			t.Fatalf("bump of %s: exit %d %s%s", app, codes[i], outs[i], errOuts[i])
		}
		if res.Attempts > 1 {
			retried++
		}
		d, err := reconcile.ParseDesired(app+"/current.conf", []byte(r.raw(app+"/current.conf")))
		if err != nil || d.Version != "2.0" || d.Bin.OCI != res.Pushes[0].Pinned || d.Bin.SHA256 != sums[i] {
			t.Errorf("%s at main: %+v %v; want 2.0 pinned at %s", app, d.Bin, err, res.Pushes[0].Pinned)
		}
		if got := r.tags("team/" + app); got != "2.0" {
			t.Errorf("tags of team/%s: %q, want 2.0", app, got)
		}
	}
	if retried != 1 {
		t.Errorf("%d bumps were read again, want 1 (the two raced)", retried)
	}
	if n := r.git("rev-list", "--count", before+"..main"); n != "2" {
		t.Errorf("commits on main: %s, want 2", n)
	}
	dir := t.TempDir()
	mustSync(t, r.url("file"), dir, "--registry-config", r.config)
	assertLinks(t, dir, "2.0")
}
