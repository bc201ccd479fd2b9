package gitsrc_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// TestOpenFileStreamsLargeBlob reads a 16 MiB file of a real commit through
// OpenFile from the on-disk cache: the bytes are right, and the read
// allocates far less than the file (it is decompressed as it streams).
func TestOpenFileStreamsLargeBlob(t *testing.T) {
	r, _ := seedRepo(t)
	big := make([]byte, 16<<20)
	_, _ = rand.Read(big)
	r.WriteFile("bin/app", big)
	rev := r.Commit("a large binary")
	cache := cacheDir(t)
	s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: cache})
	fetch(t, s, rev)
	// A second Source opens the cache from disk, as the next run does.
	s = newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: cache})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, size, err := s.OpenFile(t.Context(), rev, "bin/app")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, make([]byte, 64<<10))
	rc.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != size || size != int64(len(big)) {
		t.Fatalf("read %d of %d bytes (err %v), want %d", n, size, err, len(big))
	}
	if got, want := h.Sum(nil), sha256.Sum256(big); !bytes.Equal(got, want[:]) {
		t.Fatal("the streamed bytes differ from the committed file")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("reading a 16 MiB file allocated %d MiB, want it streamed (< 8 MiB)", alloc>>20)
	}
}

// TestOpenFileLimits refuses a file above MaxStreamSize and keeps the
// path rules of ReadFile.
func TestOpenFileLimits(t *testing.T) {
	t.Parallel()
	r, _ := seedRepo(t)
	r.WriteFile("bin/app", bytes.Repeat([]byte("x"), 5000))
	r.Symlink("../../etc/passwd", "out")
	rev := r.Commit("files")
	s := newSource(t, gitsrc.Options{URL: r.URL(), CacheDir: cacheDir(t), MaxStreamSize: 4096})
	fetch(t, s, rev)
	if _, _, err := s.OpenFile(t.Context(), rev, "bin/app"); !errors.Is(err, gitsrc.ErrFileTooLarge) {
		t.Errorf("5000 bytes with MaxStreamSize 4096: got %v, want ErrFileTooLarge", err)
	}
	if _, _, err := s.OpenFile(t.Context(), rev, "out"); !errors.Is(err, gitsrc.ErrPathEscapes) {
		t.Errorf("symlink out of the repo: got %v, want ErrPathEscapes", err)
	}
	if _, _, err := s.OpenFile(t.Context(), rev, "missing"); !errors.Is(err, gitsrc.ErrFileNotFound) {
		t.Errorf("missing file: got %v, want ErrFileNotFound", err)
	}
}
