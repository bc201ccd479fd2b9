package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// Options configure a Store.
type Options struct {
	// Endpoint is the store's URL (http or https, host and port only) for an
	// S3-compatible store, addressed path-style. "" means AWS S3.
	Endpoint string
	// Region of the bucket; "" lets the client find it (us-east-1 for a
	// custom endpoint).
	Region string
	// InstanceMetadata also asks the instance metadata service (EC2, ECS)
	// for credentials when neither the environment nor the shared file
	// has them.
	InstanceMetadata bool
	// TLS holds the CAs to trust (nil: the system's).
	TLS *tls.Config
}

// Store opens S3 objects (see the package doc). Safe for concurrent use.
type Store struct{ core *minio.Core }

// New returns a Store for opts; a bad Endpoint is an error naming it.
func New(opts Options) (*Store, error) {
	host, secure, lookup := "s3.amazonaws.com", true, minio.BucketLookupAuto
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("s3 endpoint %q: want http(s)://host[:port]", redact.URL(opts.Endpoint))
		}
		host, secure, lookup = u.Host, u.Scheme == "https", minio.BucketLookupPath
	}
	providers := []credentials.Provider{&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}}
	if opts.InstanceMetadata {
		providers = append(providers, &credentials.IAM{Client: &http.Client{Timeout: 10 * time.Second}})
	}
	core, err := minio.NewCore(host, &minio.Options{
		Creds:        credentials.NewChainCredentials(providers),
		Secure:       secure,
		Region:       opts.Region,
		BucketLookup: lookup,
		Transport:    artifacts.NewClient(opts.TLS).Transport,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %s: %w", host, err)
	}
	return &Store{core: core}, nil
}

// Open GETs the object loc names.
func (s *Store) Open(ctx context.Context, loc *url.URL) (artifacts.Blob, error) {
	obj, err := artifacts.ParseS3URL(loc.String())
	if err != nil {
		return artifacts.Blob{}, err
	}
	body, info, _, err := s.core.GetObject(ctx, obj.Bucket, obj.Key, minio.GetObjectOptions{})
	if err != nil {
		return artifacts.Blob{}, sortErr("get "+obj.String(), err)
	}
	return artifacts.Blob{Body: body, Size: info.Size}, nil
}

// sortErr gives the store's refusal its class (artifacts.StoreError).
func sortErr(op string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.StatusCode != 0 {
		return &artifacts.StoreError{Op: op, Code: er.StatusCode, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}
