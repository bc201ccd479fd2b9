// Package s3 opens release files kept as objects in S3 or an S3-compatible
// store (MinIO, Ceph, R2...), for artifacts.Fetcher (its Stores["s3"]),
// with minio-go, which is far lighter than the AWS SDK.
//
// # Role
//
// A locator s3://bucket/key names an object; [Store.Open] GETs it
// (SigV4-signed) and returns its body and size. The Fetcher verifies the
// sha256 while streaming.
//
// # Invariants
//
//   - Credentials, first found wins: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
//     (+ AWS_SESSION_TOKEN), the shared credentials file
//     (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; profile
//     AWS_PROFILE, else default), and only when Options.InstanceMetadata is
//     set the instance metadata service. None found: anonymous requests.
//   - A custom endpoint is addressed path-style (http(s)://host/bucket/key),
//     which every S3 look-alike serves; without one, AWS itself.
//   - Errors carry their class: 401 and 403 (InvalidAccessKeyId,
//     SignatureDoesNotMatch, AccessDenied) wrap artifacts.ErrAccessDenied,
//     404 (NoSuchKey, NoSuchBucket) artifacts.ErrNotFound; 5xx are
//     transient. No credential appears in an error.
//   - One attempt per Open: the Fetcher does the retries with its backoff.
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package s3
