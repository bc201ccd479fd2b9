// Package storetest runs real artifact stores for tests and benchmarks, on
// 127.0.0.1, as net/http/httptest does for HTTP servers: Debian's
// docker-registry (the CNCF Distribution registry 2.8; plain HTTP, or TLS
// with its own CA and htpasswd basic auth) and s3rver (npm, 3.7.1, on the
// machine's Node). It also pushes artifacts into them as oras and an S3
// client would.
//
// Nothing here needs a testing.TB except the Require and New helpers, so
// bench uses the same servers. Only tests and bench import it: it must
// never reach the shipped binary.
//
// Caveats: s3rver checks that an access key id exists (InvalidAccessKeyId,
// 403) but does not verify SigV4 signatures, so a wrong secret passes
// there. The servers die with the process that started them (Pdeathsig).
package storetest
