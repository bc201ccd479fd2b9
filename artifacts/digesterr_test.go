package artifacts

import (
	"errors"
	"testing"
)

// TestFetchDigestErrorSaysWhatArrived: a body that does not match its pin
// is refused with a *DigestError naming both digests and the bytes it cost,
// so that the caller can remember it and count them.
func TestFetchDigestErrorSaysWhatArrived(t *testing.T) {
	t.Parallel()
	body, sum := payload(64 << 10)
	corrupt := append([]byte(nil), body...)
	corrupt[7] ^= 1
	srv, hits := counted(t, serve(corrupt))
	dir := t.TempDir()
	_, err := fast().Fetch(t.Context(), srv.URL+"/web-2.0", sum, dir, "app.2.0", 0o755)
	var de *DigestError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DigestError", err)
	}
	if !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("errors.Is(%v, ErrDigestMismatch) = false", err)
	}
	if de.Got != digest(corrupt) || de.Want != sum || de.Size != int64(len(corrupt)) {
		t.Errorf("got %+v, want got %s, want %s, size %d", *de, digest(corrupt), sum, len(corrupt))
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1 (a wrong digest is not retried)", n)
	}
	assertEntries(t, dir)
}
