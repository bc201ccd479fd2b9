package s3_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/s3"
	"github.com/reconciler-dev/reconciler/internal/storetest"
)

func object(t *testing.T, srv *storetest.S3, bucket, key string, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "obj")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.Put(t.Context(), bucket, key, p); err != nil {
		t.Fatal(err)
	}
	return b, sha(b)
}

// credsEnv sets the static credentials of the environment (and a shared
// file that does not exist, so the machine's own is never read).
func credsEnv(t *testing.T, id, secret string) {
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
}

func fetcher(t *testing.T, endpoint string) *artifacts.Fetcher {
	t.Helper()
	s, err := s3.New(s3.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return &artifacts.Fetcher{Stores: map[string]artifacts.Store{artifacts.SchemeS3: s}, Attempts: 2, Backoff: time.Millisecond}
}

func TestS3Fetch(t *testing.T) {
	srv := storetest.NewS3(t, "releases")
	want, sum := object(t, srv, "releases", "web/2.0/app", 300<<10)
	credsEnv(t, storetest.S3AccessKey, storetest.S3Secret)
	f := fetcher(t, srv.Endpoint)
	dir := t.TempDir()
	if _, err := f.Fetch(t.Context(), "s3://releases/web/2.0/app", sum, dir, "app", 0o755); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "app")); !bytes.Equal(got, want) {
		t.Fatal("fetched bytes differ from the object's")
	}
}

// TestS3SharedCredentialsFile reads the key from AWS_SHARED_CREDENTIALS_FILE
// under AWS_PROFILE; the environment's unknown key id would be refused.
func TestS3SharedCredentialsFile(t *testing.T) {
	srv := storetest.NewS3(t, "releases")
	_, sum := object(t, srv, "releases", "app", 1000)
	credsEnv(t, "", "")
	file := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(file, []byte("[default]\naws_access_key_id = NOPE\naws_secret_access_key = x\n[deploy]\naws_access_key_id = "+
		storetest.S3AccessKey+"\naws_secret_access_key = "+storetest.S3Secret+"\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_PROFILE", "deploy")
	if _, err := fetcher(t, srv.Endpoint).Fetch(t.Context(), "s3://releases/app", sum, t.TempDir(), "app", 0o755); err != nil {
		t.Fatalf("fetch: %v", err)
	}
}

func TestS3Errors(t *testing.T) {
	srv := storetest.NewS3(t, "releases")
	_, sum := object(t, srv, "releases", "app", 1000)
	for _, tc := range []struct {
		name, id, loc, sha string
		want               error
		says               string
	}{
		// s3rver knows one key id; it does not verify SigV4 signatures, so
		// a wrong secret with the right id passes there: only an unknown
		// id is refused (403 InvalidAccessKeyId). The signature itself is
		// minio-go's signer's, tested by its authors against AWS.
		{"unknown access key id", "AKIDUNKNOWN", "s3://releases/app", sum, artifacts.ErrAccessDenied, "get s3://releases/app"},
		{"missing object", storetest.S3AccessKey, "s3://releases/nope", sum, artifacts.ErrNotFound, "get s3://releases/nope"},
		{"missing bucket", storetest.S3AccessKey, "s3://other/app", sum, artifacts.ErrNotFound, "get s3://other/app"},
		{"wrong digest", storetest.S3AccessKey, "s3://releases/app", strings.Repeat("0", 64), artifacts.ErrDigestMismatch, "want " + strings.Repeat("0", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			credsEnv(t, tc.id, "a-secret-never-shown")
			dir := t.TempDir()
			_, err := fetcher(t, srv.Endpoint).Fetch(t.Context(), tc.loc, tc.sha, dir, "app", 0o755)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || artifacts.IsTransient(err) {
				t.Fatalf("got %v, want %v (not transient) saying %q", err, tc.want, tc.says)
			}
			if strings.Contains(err.Error(), "a-secret-never-shown") {
				t.Fatalf("the error shows the secret: %v", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("dir holds %d entries after a failed fetch, want none", len(ents))
			}
		})
	}
}

// TestS3StopsMidDownload kills s3rver once the first bytes arrived.
func TestS3StopsMidDownload(t *testing.T) {
	srv := storetest.NewS3(t, "releases")
	_, sum := object(t, srv, "releases", "app", 64<<20)
	credsEnv(t, storetest.S3AccessKey, storetest.S3Secret)
	f := fetcher(t, srv.Endpoint)
	killed := false
	f.Progress = func(_ string, done, _ int64) {
		if done > 0 && !killed {
			killed = true
			srv.Kill()
		}
	}
	dir := t.TempDir()
	_, err := f.Fetch(t.Context(), "s3://releases/app", sum, dir, "app", 0o755)
	if err == nil || !killed || !artifacts.IsTransient(err) {
		t.Fatalf("got %v (killed: %v), want a transient error after the kill", err, killed)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("dir holds %d entries after a failed fetch, want none", len(ents))
	}
}

func TestS3BadEndpoint(t *testing.T) {
	for _, e := range []string{"ftp://x", "http://", "http://h/path", "http://u:p@h"} {
		if _, err := s3.New(s3.Options{Endpoint: e}); err == nil || strings.Contains(err.Error(), "u:p") {
			t.Errorf("%s: got %v, want an error without the credential", e, err)
		}
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestS3InstanceCredentialsOptIn: the metadata service (here the
// container credentials endpoint of ECS, on loopback) is asked only with
// InstanceMetadata set. s3rver serves anonymous requests too (it enforces
// no bucket policy), so the metadata service's hit count is the proof, not
// the fetch's outcome.
func TestS3InstanceCredentialsOptIn(t *testing.T) {
	srv := storetest.NewS3(t, "releases")
	_, sum := object(t, srv, "releases", "app", 1000)
	credsEnv(t, "", "")
	var hits atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"AccessKeyId": storetest.S3AccessKey, "SecretAccessKey": storetest.S3Secret,
			"Token": "session", "Expiration": time.Now().Add(time.Hour)})
	}))
	defer imds.Close()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", imds.URL+"/creds")

	s, err := s3.New(s3.Options{Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	f := &artifacts.Fetcher{Stores: map[string]artifacts.Store{artifacts.SchemeS3: s}, Attempts: 1}
	_, err = f.Fetch(t.Context(), "s3://releases/app", sum, t.TempDir(), "app", 0o755)
	if hits.Load() != 0 {
		t.Fatalf("the metadata service was asked %d times without the opt-in (fetch: %v)", hits.Load(), err)
	}
	s, err = s3.New(s3.Options{Endpoint: srv.Endpoint, InstanceMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Stores[artifacts.SchemeS3] = s
	if _, err := f.Fetch(t.Context(), "s3://releases/app", sum, t.TempDir(), "app", 0o755); err != nil || hits.Load() == 0 {
		t.Fatalf("with the opt-in: fetch %v, metadata asked %d times; want success with its credentials", err, hits.Load())
	}
}
