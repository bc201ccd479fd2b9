package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// bufSize is the copy buffer: large enough that syscalls do not dominate
// hashing and writing, small enough to be constant memory.
const bufSize = 1 << 20

// FileSHA256 returns the hex sha256 of a file (streamed). os.ErrNotExist
// passes through (errors.Is).
func FileSHA256(path string) (string, error) {
	sum, _, err := HashFile(path)
	return sum, err
}

// HashFile returns the hex sha256 and size of the file at path, streamed.
// It is the one way the agent, its tests and its fixtures hash a file.
func HashFile(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return HashReader(f)
}

// HashReader returns the hex sha256 of what r yields and its length,
// streamed through one buffer of bufSize.
func HashReader(r io.Reader) (sum string, size int64, err error) {
	h := sha256.New()
	// Hide a WriteTo (*os.File's) so that CopyBuffer uses our buffer.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, make([]byte, bufSize))
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// parseDigest checks that s is a sha256 in hex and returns it in lowercase.
func parseDigest(s string) (string, error) {
	if len(s) != sha256.Size*2 {
		return "", fmt.Errorf("invalid sha256 %s: want 64 hex digits, got %d characters", quoteShort(s), len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("invalid sha256 %q: want 64 hex digits", s)
	}
	return strings.ToLower(s), nil
}

func quoteShort(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q...", s[:80])
	}
	return fmt.Sprintf("%q", s)
}
