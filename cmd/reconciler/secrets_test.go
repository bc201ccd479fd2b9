package main

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/storetest"
)

// TestNoCredentialInAnyOutput runs failing syncs whose repo and artifact
// URLs carry credentials (in userinfo and query strings) and greps
// everything they leave behind, stdout, stderr (JSON and text logs),
// status, the state file, for the secret, plain and URL-encoded.
func TestNoCredentialInAnyOutput(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-S3cr3t/+="
	enc := url.QueryEscape(secret)
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)

	// An artifact URL with credentials in userinfo and the query; the store
	// answers 404.
	u, _ := url.Parse(d.art.URL + "/missing")
	u.User = url.UserPassword("deploy", secret)
	u.RawQuery = "token=" + enc + "&X-Amz-Signature=" + enc
	d.commitDesired(fmt.Sprintf(`{"version":"2.0","bin":{"url":%q,"sha256":%q}}`, u.String(), sha([]byte("x"))))

	repoWithCreds := strings.Replace(d.ServeHTTP(t).URL, "http://", "http://deploy:"+enc+"@", 1)
	var all strings.Builder
	for _, format := range []string{"json", "text"} {
		for _, repo := range []string{d.URL(), repoWithCreds, "http://deploy:" + enc + "@" + closedAddr(t) + "/deploy.git"} {
			out, errOut, code := runCLI(t, "sync", "--repo", repo, "--path", "web/current.conf", "--dir", dir,
				"--restart", "none", "--log-format", format, "--git-timeout", "5s")
			if code != 1 {
				t.Errorf("sync with %s: got exit %d, want 1", format, code)
			}
			all.WriteString(out + errOut)
			out, errOut, _ = runCLI(t, "diff", "--repo", repo, "--path", "web/current.conf", "--dir", dir)
			all.WriteString(out + errOut)
		}
	}
	out, _, _ := runCLI(t, "status", "--dir", dir, "--json")
	all.WriteString(out)
	out, _, _ = runCLI(t, "status", "--dir", dir)
	all.WriteString(out)
	state, _ := os.ReadFile(filepath.Join(dir, ".reconciler", "state.json"))
	all.WriteString(string(state))
	gitConfig, _ := os.ReadFile(filepath.Join(dir, ".reconciler", "git", "config"))
	all.WriteString(string(gitConfig))

	text := all.String()
	if !strings.Contains(text, "/missing") || !strings.Contains(text, "404") {
		t.Fatalf("the failing runs did not report the artifact URL; the test proves nothing:\n%s", text)
	}
	for _, s := range []string{secret, enc, url.PathEscape(secret), "hunter2"} {
		if strings.Contains(text, s) {
			i := strings.Index(text, s)
			t.Errorf("the secret %q appears in the output: ...%s...", s, text[max(0, i-120):min(len(text), i+40)])
		}
	}
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string { return freeAddr(t) }

// TestRunsAsNonRootOwner: everything works under a non-root user that owns
// the app dir (here nobody, uid 65534), and the files get deliberate modes.
func TestRunsAsNonRootOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to another user")
	}
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	base, err := os.MkdirTemp("", "reconciler-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	self, _ := os.ReadFile(os.Args[0])
	bin := filepath.Join(base, "reconciler.test")
	os.WriteFile(bin, self, 0o755)
	dir := filepath.Join(base, "app")
	os.Mkdir(dir, 0o755)
	os.Chown(dir, 65534, 65534)
	// The deploy repo must be readable by nobody: serve it over HTTP.
	url := d.ServeHTTP(t).URL

	cmd := exec.Command(bin, syncArgs(url, dir)...)
	cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1", "HOME="+base)
	cmd.SysProcAttr = nobody()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sync as nobody: %v\n%s", err, out)
	}
	for p, want := range map[string]os.FileMode{
		".reconciler":            0o700 | os.ModeDir,
		".reconciler/state.json": 0o600,
		"release/app.1.0":        0o755,
		"release/cfg.1.0":        0o640,
	} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: got mode %v (%v), want %v", p, fi.Mode(), err, want)
			continue
		}
	}
	if v := readConf(t, dir)["version"]; v != "1.0" {
		t.Errorf("got version %q, want 1.0", v)
	}
}

// TestNoPlaintextInAnyOutput: the plaintext of an age-encrypted config
// appears nowhere: not in failing syncs (a conflict, an artifact 404, a wrong
// identity), not in diff without --show-secrets, status or the state file.
func TestNoPlaintextInAnyOutput(t *testing.T) {
	t.Parallel()
	const secret2 = "n3xt-S3cret-db-password"
	key, rcpt := newAgeKey(t)
	wrongKey, _ := newAgeKey(t)
	keyData, _ := os.ReadFile(key)
	d := newDeployRepo(t)
	d.releaseEncrypted("2.0", ageEncrypt(t, secretCfg("2.0", ageSecret), false, rcpt))
	dir := t.TempDir()
	mustSync(t, d.URL(), dir, "--age-identity", key)

	var all strings.Builder
	runs := func(what string) {
		for _, k := range []string{key, wrongKey} {
			for _, format := range []string{"json", "text"} {
				out, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--age-identity", k, "--log-format", format)...)
				if code != 1 {
					t.Errorf("%s, sync with %s: got exit %d, want 1", what, k, code)
				}
				all.WriteString(out + errOut)
			}
			out, errOut, _ := runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--age-identity", k)
			all.WriteString(out + errOut)
		}
	}
	// Another plaintext under the released version: a conflict.
	d.releaseEncrypted("2.0", ageEncrypt(t, secretCfg("2.0", secret2), true, rcpt))
	runs("conflict")
	// A new version whose binary is missing: the plan holds the plaintext
	// when the download fails.
	d.releaseEncrypted("3.0", ageEncrypt(t, secretCfg("3.0", secret2), false, rcpt))
	d.art.setFault("/web-3.0", "404")
	runs("404")
	for _, args := range [][]string{{"status", "--dir", dir, "--json"}, {"status", "--dir", dir}} {
		out, errOut, _ := runCLI(t, args...)
		all.WriteString(out + errOut)
	}
	state, _ := os.ReadFile(filepath.Join(dir, ".reconciler", "state.json"))
	all.WriteString(string(state))

	text := all.String()
	for _, want := range []string{"immutable", "404", "(encrypted) sha256:", "config    encrypted: sha256", "not encrypted to any identity"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the runs never said %q; the test proves nothing:\n%s", want, text)
		}
	}
	for _, s := range []string{ageSecret, secret2, "db_password", "AGE-SECRET-KEY", strings.TrimSpace(string(keyData))} {
		if i := strings.Index(text, s); i >= 0 {
			t.Errorf("%q appears in the output: ...%s...", s, text[max(0, i-120):min(len(text), i+40)])
		}
	}
}

// TestNoStoreCredentialInAnyOutput runs syncs against a real registry
// (basic auth from config.json, a right and a wrong password) and a real
// s3rver (a secret key and a session token in the environment), failing
// and succeeding, and greps everything they leave behind for the
// secrets: plain, URL-encoded and base64 (as config.json holds them).
func TestNoStoreCredentialInAnyOutput(t *testing.T) {
	const pass, wrong = "Regi5try-S3cr3t/+=", "Wr0ng-S3cr3t/+="
	const awsSecret, awsToken = "aws-S3cr3t-K3y/+=", "aws-S3ssion-T0ken"
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{TLS: true, Users: map[string]string{"deployer": pass}})
	srv := storetest.NewS3(t, "releases")
	d := newDeployRepo(t)
	dir := t.TempDir()
	path, sum := storeRelease(t, "1.0", 0)
	p, err := reg.Push(t.Context(), "team/web", "", "deployer", pass, storetest.Layer{Title: "app", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Put(t.Context(), "releases", "app-1.0", path); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("AWS_ACCESS_KEY_ID", storetest.S3AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsSecret)
	t.Setenv("AWS_SESSION_TOKEN", awsToken)
	flags := []string{"--registry-config", config, "--ca-file", reg.CA.CAFile, "--s3-endpoint", srv.Endpoint}
	var all strings.Builder
	for _, bin := range []string{
		fmt.Sprintf(`"oci": %q, "sha256": %q`, p.Ref, sum),
		fmt.Sprintf(`"s3": "s3://releases/app-1.0", "sha256": %q`, sum),
		fmt.Sprintf(`"s3": "s3://releases/missing", "sha256": %q`, sum),
	} {
		d.commitStoreRelease("1.0", bin)
		for _, pw := range []string{wrong, pass} {
			writeDockerConfig(t, config, reg.Host, "deployer", pw)
			for _, format := range []string{"json", "text"} {
				out, errOut, _ := runCLI(t, syncArgs(d.URL(), dir, append([]string{"--log-format", format}, flags...)...)...)
				all.WriteString(out + errOut)
			}
			out, errOut, _ := runCLI(t, append([]string{"diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir}, flags...)...)
			all.WriteString(out + errOut)
		}
	}
	out, _, _ := runCLI(t, "status", "--dir", dir, "--json")
	all.WriteString(out)
	state, _ := os.ReadFile(filepath.Join(dir, ".reconciler", "state.json"))
	all.WriteString(string(state))
	text := all.String()
	if !strings.Contains(text, "access denied") || !strings.Contains(text, "s3://releases/missing") {
		t.Fatalf("the runs did not fail on the credentials and the missing object; the test proves nothing:\n%s", text)
	}
	for _, s := range []string{pass, wrong, awsSecret, awsToken} {
		for _, form := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte("deployer:" + s))} {
			if i := strings.Index(text, form); i >= 0 {
				t.Errorf("the secret %q appears in the output: ...%s...", form, text[max(0, i-120):min(len(text), i+40)])
			}
		}
	}
}
