package reconcile

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnlockReleasesSharedDescription holds the lock's open file
// description in a second descriptor, as a child forked but not yet exec'd
// does, and checks that Unlock still lets the next reconciler in.
func TestUnlockReleasesSharedDescription(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	k, err := l.Lock()
	if err != nil {
		t.Fatal(err)
	}
	dup, err := unix.Dup(int(k.f.Fd())) // the forked child's copy
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	if _, err := l.Lock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock while held: got %v, want ErrLocked", err)
	}
	if err := k.Unlock(); err != nil {
		t.Fatal(err)
	}
	k2, err := l.Lock()
	if err != nil {
		t.Fatalf("Lock after Unlock, while a copy of the descriptor is open: %v", err)
	}
	if err := k2.Unlock(); err != nil {
		t.Fatal(err)
	}
}
