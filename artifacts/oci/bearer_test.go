package oci_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/internal/storetest"
)

// bearerFront puts the token flow of GHCR and Docker Hub in front of a
// real registry: /v2/ answers 401 with a Bearer challenge unless the
// request carries the token, which /token hands out for the right basic
// credentials and the pull scope.
type bearerFront struct {
	*httptest.Server
	token  string
	issued atomic.Int32
}

func newBearerFront(t *testing.T, reg *storetest.Registry, user, pass string) *bearerFront {
	t.Helper()
	backend, _ := url.Parse(reg.URL)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	f := &bearerFront{token: "tok-" + strings.Repeat("7", 20)}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass || !strings.Contains(r.URL.Query().Get("scope"), ":pull") {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		f.issued.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"token": f.token})
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.URL+`/token",service="front",scope="repository:team/web:pull"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		proxy.ServeHTTP(w, r)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// TestOCIBearerToken: credentials of config.json buy a token from the
// registry's token service; the token, not the password, reaches the
// registry; wrong credentials are access denied.
func TestOCIBearerToken(t *testing.T) {
	reg := storetest.NewRegistry(t, storetest.RegistryOptions{})
	appPath, app := layerFile(t, t.TempDir(), "app", 100<<10)
	p, err := reg.Push(t.Context(), "team/web", "", "", "", storetest.Layer{Title: "app", Path: appPath})
	if err != nil {
		t.Fatal(err)
	}
	front := newBearerFront(t, reg, "ci-bot", "t0ken-Pa55")
	host := strings.TrimPrefix(front.URL, "http://")
	ref := host + "/team/web@" + p.Manifest
	dir := t.TempDir()
	f := fetcher(t, oci.Options{Config: dockerConfig(t, host, "ci-bot", "t0ken-Pa55")})
	if _, err := f.Fetch(t.Context(), loc(ref, "app"), p.SHA256["app"], dir, "app", 0o755); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "app")); !bytes.Equal(got, app) {
		t.Fatal("fetched bytes differ from the pushed ones")
	}
	if front.issued.Load() == 0 {
		t.Fatal("no token was issued: the bearer flow did not run")
	}
	f = fetcher(t, oci.Options{Config: dockerConfig(t, host, "ci-bot", "wrong")})
	dir = t.TempDir()
	_, err = f.Fetch(t.Context(), loc(ref, "app"), p.SHA256["app"], dir, "app", 0o755)
	if !errors.Is(err, artifacts.ErrAccessDenied) || artifacts.IsTransient(err) {
		t.Fatalf("got %v, want access denied, not transient", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), front.token) {
		t.Fatalf("the error shows a credential: %v", err)
	}
	assertEmpty(t, dir)
}
