package artifacts

import (
	"errors"
	"os"
	"testing"
)

// TestFetchDiskFull needs a small filesystem, which a test cannot make
// without privileges: run it with ARTIFACTS_SMALL_DIR pointing at one of
// under 1 MiB free, e.g.
//
//	mount -t tmpfs -o size=256k tmpfs /tmp/small
//	ARTIFACTS_SMALL_DIR=/tmp/small go test -run DiskFull ./artifacts/
func TestFetchDiskFull(t *testing.T) {
	dir := os.Getenv("ARTIFACTS_SMALL_DIR")
	if dir == "" {
		t.Skip("ARTIFACTS_SMALL_DIR not set")
	}
	body, sum := payload(2 << 20)
	srv, hits := counted(t, serve(body))
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fast().Fetch(t.Context(), srv.URL, sum, dir, "app.big", 0o755)
	if !errors.Is(err, ErrDiskFull) || IsTransient(err) {
		t.Fatalf("got %v, want ErrDiskFull, not transient", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1 (no retry)", n)
	}
	_, err = Install(dir, "cfg.big", body, 0o644)
	if !errors.Is(err, ErrDiskFull) {
		t.Errorf("Install: got %v, want ErrDiskFull", err)
	}
	if err := WriteFileAtomic(dir+"/state", body, 0o644); !errors.Is(err, ErrDiskFull) {
		t.Errorf("WriteFileAtomic: got %v, want ErrDiskFull", err)
	}
	after, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("dir went from %d to %d entries, want no change", len(before), len(after))
	}
}
