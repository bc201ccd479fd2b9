package artifacts

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// Store opens artifacts kept where a plain URL does not reach: an OCI
// registry or an S3 bucket, with credentials of their own. Fetch hands a
// locator of the store's scheme ("oci", "s3") to the Store registered for
// it in Fetcher.Stores, then streams the Blob like any download: verified,
// bounded, atomic.
type Store interface {
	Open(ctx context.Context, loc *url.URL) (Blob, error)
}

// Blob is an artifact a Store opened: its body, its length (-1 if
// unknown) and, when the store names it (an OCI layer's digest), its sha256
// in hex, compared with the wanted one before a byte is read.
type Blob struct {
	Body   io.ReadCloser
	Size   int64
	SHA256 string
}

// Store errors that no retry fixes (they carry errclass.NeedsPerson); test
// them with errors.Is.
var (
	// ErrAccessDenied: the store refused the credentials, or there were none (401, 403).
	ErrAccessDenied = errclass.New(errclass.NeedsPerson, "access denied")
	// ErrNotFound: the store has no such manifest, layer, bucket or object (404).
	ErrNotFound = errclass.New(errclass.NeedsPerson, "not found")
	// ErrNotPinned: an OCI reference names a tag instead of a manifest digest.
	ErrNotPinned = errclass.New(errclass.NeedsPerson, "not pinned by digest")
)

// StoreError is a store's answer other than success, with its HTTP status.
// It carries its class: 401 and 403 wrap ErrAccessDenied and 404
// ErrNotFound (a person must act); 5xx, 408 and 429 are transient.
type StoreError struct {
	Op   string // what was being done, with the reference (never a credential)
	Code int    // HTTP status
	Err  error  // the client library's error
}

func (e *StoreError) Error() string {
	if c := e.class(); c != nil {
		return fmt.Sprintf("%s: %v (%d): %v", e.Op, c, e.Code, e.Err)
	}
	return fmt.Sprintf("%s: status %d: %v", e.Op, e.Code, e.Err)
}

// Unwrap gives the cause and the class sentinel, if any.
func (e *StoreError) Unwrap() []error {
	if c := e.class(); c != nil {
		return []error{e.Err, c}
	}
	return []error{e.Err}
}

func (e *StoreError) class() error {
	switch e.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrAccessDenied
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// ErrorClass: 401, 403 and 404 need a person (a store's reference is
// pinned); other statuses as errclass.HTTPStatus says.
func (e *StoreError) ErrorClass() errclass.Class {
	if e.class() != nil {
		return errclass.NeedsPerson
	}
	return errclass.HTTPStatus(e.Code)
}

// Transient reports whether the same request may succeed later (5xx, 408, 429).
func (e *StoreError) Transient() bool { return e.ErrorClass() == errclass.Transient }

// openStore opens t with the Store registered for its scheme and checks a
// digest the store announces against want.
func (f *Fetcher) openStore(ctx context.Context, t target, want string) (io.ReadCloser, int64, error) {
	b, err := f.Stores[t.url.Scheme].Open(ctx, t.url)
	if err != nil {
		return nil, 0, err
	}
	if b.SHA256 != "" && b.SHA256 != want {
		b.Body.Close()
		return nil, 0, fmt.Errorf("%w: the store's blob has sha256 %s, want %s", ErrDigestMismatch, b.SHA256, want)
	}
	return b.Body, b.Size, nil
}
