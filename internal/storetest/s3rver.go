package storetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// S3rverBin is the npm package's command (npm install -g s3rver@3.7.1).
const S3rverBin = "s3rver"

// The one access key s3rver knows. It does not check the secret.
const (
	S3AccessKey = "S3RVER"
	S3Secret    = "S3RVER"
)

// S3 is a running s3rver on 127.0.0.1 with buckets made at its start.
type S3 struct {
	Endpoint string // http://127.0.0.1:port
	*proc
}

// RequireS3 fails (CI) or skips the test without s3rver.
func RequireS3(t testing.TB) {
	t.Helper()
	require(t, S3rverBin, "npm install -g s3rver@3.7.1")
}

// NewS3 starts s3rver for the test with buckets, killed when it ends.
func NewS3(t testing.TB, buckets ...string) *S3 {
	t.Helper()
	RequireS3(t)
	s, err := StartS3(t.Context(), t.TempDir(), buckets...)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("s3rver log:\n%s", s.Log())
		}
	})
	return s
}

// StartS3 runs s3rver with its data in dir, ready when it returns. Kill it.
func StartS3(ctx context.Context, dir string, buckets ...string) (*S3, error) {
	if _, err := exec.LookPath(S3rverBin); err != nil {
		return nil, fmt.Errorf("%s: %w", S3rverBin, errNotInstalled)
	}
	var lastErr error
	for range 3 { // a port free a moment ago may be taken by now
		addr, err := testkit.FreeAddr()
		if err != nil {
			return nil, err
		}
		host, port, _ := net.SplitHostPort(addr)
		args := []string{"-d", dir, "-a", host, "-p", port, "-s", "--no-vhost-buckets"}
		for _, b := range buckets {
			args = append(args, "--configure-bucket", b)
		}
		p, err := startProc(dir, S3rverBin, args...)
		if err != nil {
			return nil, err
		}
		s := &S3{Endpoint: "http://" + addr, proc: p}
		if lastErr = p.waitHTTP(ctx, &http.Client{}, s.Endpoint+"/", http.StatusOK, http.StatusForbidden); lastErr == nil {
			return s, nil
		}
		p.Kill()
	}
	return nil, lastErr
}

// Put uploads the file at path as bucket/key.
func (s *S3) Put(ctx context.Context, bucket, key, path string) error {
	c, err := minio.New(s.Endpoint[len("http://"):], &minio.Options{
		Creds: credentials.NewStaticV4(S3AccessKey, S3Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// An unsigned payload: s3rver does not understand minio-go's streaming
	// (aws-chunked) upload over plain HTTP and would store the chunk
	// signatures as data.
	_, err = c.PutObject(ctx, bucket, key, f, st.Size(), minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
