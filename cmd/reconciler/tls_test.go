package main

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPSWithOwnCA: artifacts and the deploy repo over HTTPS with a CA
// of their own are refused without --ca-file and accepted with it.
func TestHTTPSWithOwnCA(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	art := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(binary("1.0"))
	}))
	t.Cleanup(art.Close)
	d.commitDesired(fmt.Sprintf(`{"version":"1.0","bin":{"url":%q,"sha256":%q}}`, art.URL+"/web-1.0", sha(binary("1.0"))))
	plain, _ := url.Parse(d.ServeHTTP(t).URL)
	gitTLS := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: plain.Host}))
	t.Cleanup(gitTLS.Close)
	repo := gitTLS.URL + plain.Path

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	var pems []byte
	for _, srv := range []*httptest.Server{art, gitTLS} {
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})...)
	}
	os.WriteFile(caFile, pems, 0o644)

	dir := t.TempDir()
	// The repo over HTTPS with an unknown CA.
	if _, errOut, code := runCLI(t, syncArgs(repo, dir)...); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("https repo without --ca-file: got exit %d %q, want a certificate error", code, errOut)
	}
	// The repo trusted through a file:// URL, the artifact over HTTPS with an unknown CA.
	if _, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("https artifact without --ca-file: got exit %d %q, want a certificate error", code, errOut)
	}
	mustSync(t, repo, dir, "--ca-file", caFile)
	if v := readConf(t, dir)["version"]; v != "1.0" {
		t.Errorf("with --ca-file: got version %q, want 1.0", v)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	if _, errOut, code := runCLI(t, syncArgs(repo, dir, "--ca-file", bad)...); code != 2 || !strings.Contains(errOut, "no PEM certificate") {
		t.Errorf("--ca-file with no certificate: got exit %d %q, want 2 and a clear error", code, errOut)
	}
}
