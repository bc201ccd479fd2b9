package restart

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStartAsAppUser: with Cred, the app the reconciler starts runs as that
// user and group, with no group of the agent's left, and still writes
// app.log (its descriptor is opened by the agent). A real child: id(1).
func TestStartAsAppUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("starting an app as another user needs root (CI runs as root)")
	}
	dir := t.TempDir()
	// The app's user must enter its directory: open the test's temp dirs.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cred := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534}}
	_, wait, err := Starter{Dir: dir, Exec: "id", Cred: cred}.Start()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("id: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(b))
	if !strings.HasPrefix(got, "uid=65534(") || !strings.Contains(got, " gid=65534(") || strings.Contains(got, "=0(") || strings.Contains(got, ",0(") {
		t.Errorf("the app runs as: got %q, want uid and gid 65534 and no root group", got)
	}
}
