package artifacts

import "fmt"

// DigestError is a download whose bytes did not match the pinned sha256.
// It says what arrived, so that a caller can remember the refusal and count
// the bytes it cost (a wrong pin otherwise downloads the whole file at
// every attempt). errors.Is(err, ErrDigestMismatch) holds for it.
type DigestError struct {
	Got, Want string // hex sha256: what arrived, what was pinned
	Size      int64  // bytes downloaded (and thrown away)
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%v: got %s, want %s", ErrDigestMismatch, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }
