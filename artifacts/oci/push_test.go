package oci_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/internal/storetest"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ ref, version, want, err string }{
		{"registry.example.com/team/web:2.1", "9", "registry.example.com/team/web:2.1", ""},
		{"registry.example.com/team/web", "2.1", "registry.example.com/team/web:2.1", ""},
		{"127.0.0.1:5000/web", "2.1+b7", "127.0.0.1:5000/web:2.1_b7", ""},
		{"localhost/web", "v1", "localhost/web:v1", ""},
		{"registry.example.com/team/web@sha256:" + strings.Repeat("a", 64), "1", "", "not a digest"},
		{"team/web", "1", "", "name the registry"},
		{"registry.example.com/Team/web", "1", "", "name the registry"},
		{"registry.example.com/team/web:.x", "1", "", "is not a tag"},
		{"registry.example.com/team/web", "-x", "", "is not a tag"},
	} {
		got, err := oci.ParseTarget(tc.ref, tc.version)
		switch {
		case tc.err == "" && (err != nil || got.String() != tc.want):
			t.Errorf("ParseTarget(%q, %q): got %v, %v; want %s", tc.ref, tc.version, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTarget(%q, %q): got %v, %v; want an error saying %q", tc.ref, tc.version, got, err, tc.err)
		}
	}
}

// TestPushThenFetch: a file pushed by Store.Push (through a bearer-token
// service in front of a real registry) is what a Fetcher pinned to
// Pack's digest downloads; Pack gives the same digest every time, and a
// second push of the same file is no error.
func TestPushThenFetch(t *testing.T) {
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{})
	front := newBearerFront(t, reg, "ci-bot", "t0ken-Pa55")
	host := strings.TrimPrefix(front.URL, "http://")
	path, data := layerFile(t, t.TempDir(), "web-linux-amd64", 200<<10)
	sum := sha256hex(data)
	p, err := oci.Pack("web-linux-amd64", sum, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := oci.Pack("web-linux-amd64", sum, int64(len(data))); again.Digest() != p.Digest() || !bytes.Equal(again.Manifest, p.Manifest) {
		t.Fatalf("Pack is not deterministic: %s, then %s", p.Digest(), again.Digest())
	}
	target, err := oci.ParseTarget(host+"/team/web", "2.0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := oci.New(oci.Options{Config: dockerConfig(t, host, "ci-bot", "t0ken-Pa55")})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Push(t.Context(), target, p, path); err != nil {
			t.Fatalf("push: %v", err)
		}
	}
	dir := t.TempDir()
	f := fetcher(t, oci.Options{Config: dockerConfig(t, host, "ci-bot", "t0ken-Pa55")})
	if _, err := f.Fetch(t.Context(), loc(target.Pinned(p), "web-linux-amd64"), sum, dir, "app", 0o755); err != nil {
		t.Fatalf("fetch what was pushed: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "app")); !bytes.Equal(got, data) {
		t.Fatal("fetched bytes differ from the pushed ones")
	}
	// A file changed after it was packed (same size, other bytes) is
	// refused by the registry's digest check, and not stored.
	changed := bytes.Clone(data)
	changed[0] ^= 1
	os.WriteFile(path, changed, 0o644)
	other, _ := oci.ParseTarget(host+"/team/other", "2.0")
	if err := s.Push(t.Context(), other, p, path); err == nil || !strings.Contains(err.Error(), "digest invalid") {
		t.Fatalf("a file that changed since it was hashed: got %v, want the registry's digest invalid", err)
	}
	if _, err := f.Fetch(t.Context(), loc(other.Pinned(p), "web-linux-amd64"), sum, t.TempDir(), "app", 0o755); err == nil {
		t.Fatal("the refused push left a manifest to fetch")
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
