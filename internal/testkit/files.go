package testkit

import (
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path by rename, as an operator (or a
// configuration tool) should: a watcher never sees the file half written.
func WriteFileAtomic(t Failer, path, data string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatalf("%v", err)
	}
}
