package oci_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/internal/storetest"
)

// layerFile writes n random bytes into a file of dir.
func layerFile(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// dockerConfig writes a config.json holding user:pass for host.
func dockerConfig(t *testing.T, host, user, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if err := os.WriteFile(p, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fetcher(t *testing.T, o oci.Options) *artifacts.Fetcher {
	t.Helper()
	if o.Config == "" {
		o.Config = filepath.Join(t.TempDir(), "none.json")
		os.WriteFile(o.Config, []byte("{}"), 0o600)
	}
	s, err := oci.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &artifacts.Fetcher{Stores: map[string]artifacts.Store{artifacts.SchemeOCI: s}, Attempts: 2, Backoff: time.Millisecond}
}

func loc(ref, file string) string {
	r, err := artifacts.ParseOCIRef(ref)
	if err != nil {
		panic(err)
	}
	return artifacts.OCILocator(r, file)
}

// assertEmpty checks that a failed fetch left nothing in dir.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("dir holds %d entries after a failed fetch, want none (%s)", len(ents), ents[0].Name())
	}
}

func TestOCIPlainHTTP(t *testing.T) {
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{})
	src := t.TempDir()
	appPath, app := layerFile(t, src, "app", 300<<10)
	cfgPath, _ := layerFile(t, src, "app.cfg", 100)
	p, err := reg.Push(t.Context(), "team/web", "v1", "", "", storetest.Layer{Title: "app", Path: appPath}, storetest.Layer{Title: "app.cfg", Path: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	f := fetcher(t, oci.Options{})
	dir := t.TempDir()
	res, err := f.Fetch(t.Context(), loc(p.Ref, "app"), p.SHA256["app"], dir, "app-1", 0o755)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "app-1"))
	if !bytes.Equal(got, app) || res.Size != int64(len(app)) {
		t.Fatalf("got %d bytes (result %d), want the %d pushed", len(got), res.Size, len(app))
	}
	res, err = f.Fetch(t.Context(), loc(p.Ref, "app"), p.SHA256["app"], dir, "app-1", 0o755)
	if err != nil || !res.Reused {
		t.Fatalf("second fetch: reused %v, err %v; want reused", res.Reused, err)
	}
}

func TestOCIErrors(t *testing.T) {
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{})
	src := t.TempDir()
	appPath, _ := layerFile(t, src, "app", 1000)
	cfgPath, _ := layerFile(t, src, "app.cfg", 100)
	two, err := reg.Push(t.Context(), "team/web", "", "", "", storetest.Layer{Title: "app", Path: appPath}, storetest.Layer{Title: "app.cfg", Path: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	missing := reg.Host + "/team/web@sha256:" + strings.Repeat("ab", 32)
	other := reg.Host + "/team/other@" + two.Manifest
	f := fetcher(t, oci.Options{})
	for _, tc := range []struct {
		name, loc, sha string
		want           error
		says           string
	}{
		{"wrong file digest", loc(two.Ref, "app"), strings.Repeat("0", 64), artifacts.ErrDigestMismatch, "want " + strings.Repeat("0", 64)},
		{"manifest not there", loc(missing, "app"), two.SHA256["app"], artifacts.ErrNotFound, "fetch manifest " + missing},
		{"repository not there", loc(other, "app"), two.SHA256["app"], artifacts.ErrNotFound, "fetch manifest " + other},
		{"no layer titled so", loc(two.Ref, "nope"), two.SHA256["app"], artifacts.ErrNotFound, `no layer titled "nope"`},
		{"two layers, no file", loc(two.Ref, ""), two.SHA256["app"], artifacts.ErrNotFound, "2 layers"},
		{"tag", "oci://" + reg.Host + "/team/web:v1", two.SHA256["app"], artifacts.ErrNotPinned, `names the tag "v1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := f.Fetch(t.Context(), tc.loc, tc.sha, dir, "app-1", 0o755)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
			if artifacts.IsTransient(err) {
				t.Errorf("%v is transient, want it to need a person", err)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestOCITLSBasicAuth(t *testing.T) {
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{TLS: true, Users: map[string]string{"deployer": "s3cr3t-pass"}})
	appPath, app := layerFile(t, t.TempDir(), "app", 64<<10)
	p, err := reg.Push(t.Context(), "team/web", "", "deployer", "s3cr3t-pass", storetest.Layer{Title: "app", Path: appPath})
	if err != nil {
		t.Fatal(err)
	}
	l := loc(p.Ref, "")
	t.Run("credentials from config.json", func(t *testing.T) {
		f := fetcher(t, oci.Options{TLS: reg.TLSConfig(), Config: dockerConfig(t, reg.Host, "deployer", "s3cr3t-pass")})
		dir := t.TempDir()
		if _, err := f.Fetch(t.Context(), l, p.SHA256["app"], dir, "app", 0o755); err != nil {
			t.Fatalf("fetch: %v", err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "app")); !bytes.Equal(got, app) {
			t.Fatal("fetched bytes differ from the pushed ones")
		}
	})
	for _, tc := range []struct{ name, config string }{
		{"no credentials", ""},
		{"wrong credentials", dockerConfig(t, reg.Host, "deployer", "wrong-pass")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fetcher(t, oci.Options{TLS: reg.TLSConfig(), Config: tc.config})
			dir := t.TempDir()
			_, err := f.Fetch(t.Context(), l, p.SHA256["app"], dir, "app", 0o755)
			if !errors.Is(err, artifacts.ErrAccessDenied) || artifacts.IsTransient(err) {
				t.Fatalf("got %v, want access denied, not transient", err)
			}
			if strings.Contains(err.Error(), "wrong-pass") || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("the error shows a password: %v", err)
			}
			assertEmpty(t, dir)
		})
	}
	t.Run("untrusted CA", func(t *testing.T) {
		f := fetcher(t, oci.Options{Config: dockerConfig(t, reg.Host, "deployer", "s3cr3t-pass")})
		dir := t.TempDir()
		_, err := f.Fetch(t.Context(), l, p.SHA256["app"], dir, "app", 0o755)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate error", err)
		}
		assertEmpty(t, dir)
	})
}

// TestOCIRegistryStopsMidDownload kills the registry once the first bytes
// of a blob arrived: a transient error, nothing in the directory.
func TestOCIRegistryStopsMidDownload(t *testing.T) {
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{})
	appPath, _ := layerFile(t, t.TempDir(), "app", 64<<20)
	p, err := reg.Push(t.Context(), "team/web", "", "", "", storetest.Layer{Title: "app", Path: appPath})
	if err != nil {
		t.Fatal(err)
	}
	f := fetcher(t, oci.Options{})
	killed := false
	f.Progress = func(_ string, done, _ int64) {
		if done > 0 && !killed {
			killed = true
			reg.Kill()
		}
	}
	dir := t.TempDir()
	_, err = f.Fetch(t.Context(), loc(p.Ref, ""), p.SHA256["app"], dir, "app", 0o755)
	if err == nil || !killed {
		t.Fatalf("got %v (registry killed: %v), want an error after the kill", err, killed)
	}
	if !artifacts.IsTransient(err) {
		t.Fatalf("got %v, want a transient error", err)
	}
	assertEmpty(t, dir)
}
