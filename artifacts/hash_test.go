package artifacts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashFile: the one file hash, streamed, with its size; a missing
// file passes os.ErrNotExist through.
func TestHashFile(t *testing.T) {
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if sum, n, err := HashReader(strings.NewReader("abc")); sum != abc || n != 3 || err != nil {
		t.Errorf("HashReader(abc) = %s, %d, %v; want %s, 3", sum, n, err, abc)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum, n, err := HashFile(path); sum != abc || n != 3 || err != nil {
		t.Errorf("HashFile = %s, %d, %v; want %s, 3", sum, n, err, abc)
	}
	if _, _, err := HashFile(path + ".missing"); !os.IsNotExist(err) {
		t.Errorf("HashFile of a missing file: %v, want ErrNotExist", err)
	}
}
