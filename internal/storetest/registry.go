package storetest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// RegistryBin is Debian's Distribution registry.
const RegistryBin = "docker-registry"

// RegistryOptions choose TLS and basic auth.
type RegistryOptions struct {
	// TLS serves HTTPS with a CA made for the registry (Registry.CA); a
	// registry with users always serves TLS (Distribution requires it).
	TLS bool
	// Users are htpasswd users (name: password), bcrypt-hashed here.
	Users map[string]string
}

// Registry is a running docker-registry on 127.0.0.1.
type Registry struct {
	Host string // 127.0.0.1:port
	URL  string // http(s)://Host
	CA   *CA    // with TLS
	*proc
}

// RequireRegistry fails (CI) or skips the test without docker-registry.
func RequireRegistry(t testing.TB) {
	t.Helper()
	require(t, RegistryBin, "apt-get install docker-registry")
}

// NewRegistry starts a registry for the test, killed when it ends.
func NewRegistry(t testing.TB, o RegistryOptions) *Registry {
	t.Helper()
	RequireRegistry(t)
	r, err := StartRegistry(t.Context(), t.TempDir(), o)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		r.Kill()
		if t.Failed() {
			t.Logf("registry log:\n%s", r.Log())
		}
	})
	return r
}

// StartRegistry runs a registry with its storage and config in dir, ready
// to serve when it returns. Kill it.
func StartRegistry(ctx context.Context, dir string, o RegistryOptions) (*Registry, error) {
	if _, err := exec.LookPath(RegistryBin); err != nil {
		return nil, fmt.Errorf("%s: %w", RegistryBin, errNotInstalled)
	}
	r := &Registry{}
	if o.TLS || len(o.Users) > 0 {
		ca, err := NewCA(dir)
		if err != nil {
			return nil, err
		}
		r.CA = ca
	}
	var lastErr error
	for range 3 { // a port free a moment ago may be taken by now
		if lastErr = r.start(ctx, dir, o); lastErr == nil {
			return r, nil
		}
	}
	return nil, lastErr
}

func (r *Registry) start(ctx context.Context, dir string, o RegistryOptions) error {
	addr, err := testkit.FreeAddr()
	if err != nil {
		return err
	}
	r.Host, r.URL = addr, "http://"+addr
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"+
		"http:\n  addr: %s\n  secret: storetest\n", filepath.Join(dir, "data"), addr)
	if r.CA != nil {
		r.URL = "https://" + addr
		conf += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", r.CA.CertFile, r.CA.KeyFile)
	}
	if len(o.Users) > 0 {
		pw := filepath.Join(dir, "htpasswd")
		if err := writeHtpasswd(pw, o.Users); err != nil {
			return err
		}
		conf += fmt.Sprintf("auth:\n  htpasswd:\n    realm: storetest\n    path: %s\n", pw)
	}
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	p, err := startProc(dir, RegistryBin, "serve", path)
	if err != nil {
		return err
	}
	r.proc = p
	if err := p.waitHTTP(ctx, r.Client(), r.URL+"/v2/", http.StatusOK, http.StatusUnauthorized); err != nil {
		p.Kill()
		return err
	}
	return nil
}

// Client trusts the registry's CA.
func (r *Registry) Client() *http.Client {
	if r.CA == nil {
		return &http.Client{}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: r.CA.TLSConfig()}}
}

// TLSConfig trusts the registry's CA (nil without TLS).
func (r *Registry) TLSConfig() *tls.Config {
	if r.CA == nil {
		return nil
	}
	return r.CA.TLSConfig()
}

// writeHtpasswd writes bcrypt entries, as htpasswd -B does.
func writeHtpasswd(path string, users map[string]string) error {
	var b []byte
	for name, pass := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			return err
		}
		b = append(b, name+":"+string(h)+"\n"...)
	}
	return os.WriteFile(path, b, 0o600)
}
