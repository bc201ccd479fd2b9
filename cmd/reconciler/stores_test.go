package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/storetest"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// storeRelease writes binary(v) (size n, 0 for the usual) into a file and
// returns its path and digest.
func storeRelease(t *testing.T, v string, n int) (string, string) {
	t.Helper()
	b := binary(v)
	if n > len(b) {
		b = append(b, make([]byte, n-len(b))...)
	}
	p := filepath.Join(t.TempDir(), "app-"+v)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p, sha(b)
}

// commitStoreRelease commits a desired file whose bin is given by the JSON
// source (an "oci" or "s3" key and its sha256), with a config from the repo.
func (d *deployRepo) commitStoreRelease(v, bin string) string {
	d.WriteFile("web/cfg-"+v+".json", []byte(fmt.Sprintf("{\"version\": %q}\n", v)))
	return d.commitDesired(fmt.Sprintf(`{"version": %q, "bin": {%s}, "cfg": {"path": "web/cfg-%s.json"}}`, v, bin, v))
}

func writeDockerConfig(t *testing.T, path, host, user, pass string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if err := os.WriteFile(path, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

// status is the agent's GET /status; empty while it does not answer yet.
func (a *agentProc) status(t *testing.T) reconcile.Status {
	t.Helper()
	var st reconcile.Status
	resp, err := http.Get("http://" + a.listen + "/status")
	if err != nil {
		return st
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /status: %v", err)
	}
	return st
}

// waitError waits until the agent reports an error for rev, and checks its
// class and words, and that 1.0's links and files stay as they were.
func (a *agentProc) waitError(t *testing.T, rev string, class reconcile.ErrorClass, says string) {
	t.Helper()
	var st reconcile.Status
	waitFor(t, "an error for "+rev[:8], func() bool {
		st = a.status(t)
		return st.LastError != nil && st.LastError.Revision == rev && st.LastError.Class == class
	})
	if !strings.Contains(st.LastError.Message, says) {
		t.Errorf("error %q does not say %q", st.LastError.Message, says)
	}
}

// TestAgentDeploysFromOCI: a real agent deploys an artifact pushed to a
// real registry (TLS with its own CA, htpasswd basic auth, credentials in a
// docker config.json), then meets each fault with a clear error, its
// class, and nothing switched.
func TestAgentDeploysFromOCI(t *testing.T) {
	const pass = "Regi5try-Pa55"
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{TLS: true, Users: map[string]string{"deployer": pass}})
	push := func(v string, n int) storetest.Pushed {
		path, _ := storeRelease(t, v, n)
		p, err := reg.Push(t.Context(), "team/web", "v"+v, "deployer", pass, storetest.Layer{Title: "app", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ociBin := func(p storetest.Pushed, ref, sum string) string {
		return fmt.Sprintf(`"oci": %q, "file": "app", "sha256": %q`, ref, sum)
	}
	d := newDeployRepo(t)
	dir := t.TempDir()
	p1 := push("1.0", 0)
	d.commitStoreRelease("1.0", ociBin(p1, p1.Ref, p1.SHA256["app"]))
	config := filepath.Join(t.TempDir(), "config.json")
	writeDockerConfig(t, config, reg.Host, "deployer", pass)

	out, errOut, _ := runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir)
	if !strings.Contains(out, "oci://"+p1.Ref+"?file=app") {
		t.Errorf("diff does not name the reference oci://%s?file=app:\n%s%s", p1.Ref, out, errOut)
	}
	listen := freeAddr(t)
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none",
		"--schedule", "@every 1s", "--listen", listen, "--log-format", "json",
		"--registry-config", config, "--ca-file", reg.CA.CAFile)
	a.listen = listen
	waitFor(t, "the agent to deploy 1.0", func() bool { return applied(a.status(t), "1.0") })
	assertLinks(t, dir, "1.0")
	before := snapshot(t, dir, ".reconciler")

	p2 := push("2.0", 0)
	for _, tc := range []struct {
		name, bin string
		edit      func()
		says      string
	}{
		{"wrong file digest", ociBin(p2, p2.Ref, strings.Repeat("0", 64)), nil, "sha256 mismatch"},
		{"manifest not there", ociBin(p2, reg.Host+"/team/web@sha256:"+strings.Repeat("ab", 32), p2.SHA256["app"]), nil, "not found"},
		{"wrong credentials", ociBin(p2, p2.Ref, p2.SHA256["app"]), func() { writeDockerConfig(t, config, reg.Host, "deployer", "wrong-"+pass) }, "access denied"},
		{"no credentials", ociBin(p2, p2.Ref, p2.SHA256["app"]), func() { os.WriteFile(config, []byte(`{}`), 0o600) }, "access denied"},
	} {
		if tc.edit != nil {
			tc.edit()
		}
		rev := d.commitStoreRelease("2.0-"+strings.ReplaceAll(tc.name, " ", "-"), tc.bin)
		a.waitError(t, rev, reconcile.ClassNeedsPerson, tc.says)
		if got := snapshot(t, dir, ".reconciler"); got != before {
			t.Fatalf("%s: the directory changed:\n%s\nwant\n%s", tc.name, got, before)
		}
	}
	// A tag: the desired file is refused by name.
	rev := d.commitStoreRelease("2.0", fmt.Sprintf(`"oci": %q, "sha256": %q`, reg.Host+"/team/web:v2.0", p2.SHA256["app"]))
	a.waitError(t, rev, reconcile.ClassNeedsPerson, `key "bin.oci"`)

	// Credentials back: 2.0 deploys without a restart of the agent.
	writeDockerConfig(t, config, reg.Host, "deployer", pass)
	d.commitStoreRelease("2.0", ociBin(p2, p2.Ref, p2.SHA256["app"]))
	waitFor(t, "the agent to deploy 2.0", func() bool { return applied(a.status(t), "2.0") })
	assertLinks(t, dir, "2.0")

	// The registry stops mid-download: a fault to retry, nothing switched.
	p3 := push("3.0", 48<<20)
	before = snapshot(t, dir, ".reconciler")
	rev = d.commitStoreRelease("3.0", ociBin(p3, p3.Ref, p3.SHA256["app"]))
	waitFor(t, "the download's temporary file", func() bool { return len(tempFiles(dir)) > 0 })
	reg.Kill()
	a.waitError(t, rev, reconcile.ClassRetry, "3.0")
	waitFor(t, "the temporary file to go", func() bool { return len(tempFiles(dir)) == 0 })
	if got := snapshot(t, dir, ".reconciler"); got != before {
		t.Fatalf("after the registry stopped, the directory changed:\n%s\nwant\n%s", got, before)
	}
	if strings.Contains(a.logs.String(), pass) {
		t.Error("the agent's log shows the registry password")
	}
}

// TestAgentDeploysFromS3: a real agent deploys an object of a real s3rver,
// then meets an unknown access key id, a missing object and the server
// stopping mid-download. s3rver does not verify SigV4 signatures (a wrong
// secret passes there): only the key id is checked.
func TestAgentDeploysFromS3(t *testing.T) {
	srv := storetest.NewS3(t, "releases")
	put := func(v string, n int) string {
		path, sum := storeRelease(t, v, n)
		if err := srv.Put(t.Context(), "releases", "web/app-"+v, path); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	s3Bin := func(key, sum string) string { return fmt.Sprintf(`"s3": "s3://releases/%s", "sha256": %q`, key, sum) }
	d := newDeployRepo(t)
	dir := t.TempDir()
	d.commitStoreRelease("1.0", s3Bin("web/app-1.0", put("1.0", 0)))
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("[deploy]\naws_access_key_id = "+storetest.S3AccessKey+"\naws_secret_access_key = "+storetest.S3Secret+"\n"), 0o600)

	listen := freeAddr(t)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_PROFILE", "deploy")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--restart", "none",
		"--schedule", "@every 1s", "--listen", listen, "--log-format", "json", "--s3-endpoint", srv.Endpoint)
	a.listen = listen
	waitFor(t, "the agent to deploy 1.0", func() bool { return applied(a.status(t), "1.0") })
	assertLinks(t, dir, "1.0")
	before := snapshot(t, dir, ".reconciler")

	rev := d.commitStoreRelease("2.0", s3Bin("web/nope", put("2.0", 0)))
	a.waitError(t, rev, reconcile.ClassNeedsPerson, "not found")
	os.WriteFile(creds, []byte("[deploy]\naws_access_key_id = AKIDUNKNOWN\naws_secret_access_key = x\n"), 0o600)
	rev = d.commitStoreRelease("2.0", s3Bin("web/app-2.0", sha(binary("2.0"))))
	a.waitError(t, rev, reconcile.ClassNeedsPerson, "access denied")
	if got := snapshot(t, dir, ".reconciler"); got != before {
		t.Fatalf("the directory changed:\n%s\nwant\n%s", got, before)
	}

	// The key id fixed in the shared file: 2.0 deploys without a restart.
	os.WriteFile(creds, []byte("[deploy]\naws_access_key_id = "+storetest.S3AccessKey+"\naws_secret_access_key = "+storetest.S3Secret+"\n"), 0o600)
	waitFor(t, "the agent to deploy 2.0", func() bool { return applied(a.status(t), "2.0") })
	before = snapshot(t, dir, ".reconciler")
	rev = d.commitStoreRelease("3.0", s3Bin("web/app-3.0", put("3.0", 48<<20)))
	waitFor(t, "the download's temporary file", func() bool { return len(tempFiles(dir)) > 0 })
	srv.Kill()
	a.waitError(t, rev, reconcile.ClassRetry, "3.0")
	waitFor(t, "the temporary file to go", func() bool { return len(tempFiles(dir)) == 0 })
	if got := snapshot(t, dir, ".reconciler"); got != before {
		t.Fatalf("after s3rver stopped, the directory changed:\n%s\nwant\n%s", got, before)
	}
}

// TestSyncKilledMidStoreDownload SIGKILLs a real sync while it downloads
// from a registry, then from an S3 store, then checks the directory is
// consistent and the next run finishes the job.
func TestSyncKilledMidStoreDownload(t *testing.T) {
	for _, store := range []string{"oci", "s3"} {
		t.Run(store, func(t *testing.T) {
			d := newDeployRepo(t)
			dir := t.TempDir()
			d.release("1.0")
			mustSync(t, d.URL(), dir)
			path, sum := storeRelease(t, "2.0", 256<<20)
			var bin string
			var flags []string
			switch store {
			case "oci":
				reg := storetest.NewRegistry(t, storetest.RegistryOptions{})
				p, err := reg.Push(t.Context(), "team/web", "", "", "", storetest.Layer{Title: "app", Path: path})
				if err != nil {
					t.Fatal(err)
				}
				bin = fmt.Sprintf(`"oci": %q, "sha256": %q`, p.Ref, sum)
			case "s3":
				srv := storetest.NewS3(t, "releases")
				if err := srv.Put(t.Context(), "releases", "app-2.0", path); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_ACCESS_KEY_ID", storetest.S3AccessKey)
				t.Setenv("AWS_SECRET_ACCESS_KEY", storetest.S3Secret)
				bin = fmt.Sprintf(`"s3": "s3://releases/app-2.0", "sha256": %q`, sum)
				flags = []string{"--s3-endpoint", srv.Endpoint}
			}
			rev2 := d.commitStoreRelease("2.0", bin)
			killMidDownload(t, childSync(t, syncArgs(d.URL(), dir, flags...)...), dir)
			mustSync(t, d.URL(), dir, flags...)
			conf := readConf(t, dir)
			if conf["version"] != "2.0" || conf["revision"] != rev2 {
				t.Errorf("current.conf: got version %s revision %s, want 2.0 %s", conf["version"], conf["revision"], rev2)
			}
			assertLinks(t, dir, "2.0")
			if got, _, _ := fileSHA(filepath.Join(dir, "release", "app.2.0")); got != sum {
				t.Errorf("release/app.2.0 has sha256 %s, want %s", got, sum)
			}
			assertNoTemp(t, dir)
		})
	}
}

func fileSHA(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// applied reports whether the agent's last pass applied version v.
func applied(st reconcile.Status, v string) bool {
	return st.Applied != nil && st.Applied.Version == v && st.LastError == nil
}
