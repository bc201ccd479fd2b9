package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// copied is what stream wrote.
type copied struct {
	n   int64
	sum string // hex sha256
}

// stream copies src to dst in one pass, hashing what it writes, stopping
// as soon as more than limit bytes arrived, and reporting progress. It
// fills a 1 MiB buffer before each write, so that a trickle of small reads
// from the network does not become a trickle of small writes.
func (f *Fetcher) stream(ctx context.Context, dst io.Writer, src io.Reader, name string, total, limit int64, feed func()) (copied, error) {
	s := streamer{
		dst: dst, src: io.LimitReader(src, limit+1), h: sha256.New(),
		buf: make([]byte, bufSize), feed: feed,
		prog: progress{fn: f.Progress, name: name, total: total},
	}
	for {
		if err := ctx.Err(); err != nil {
			return copied{}, err
		}
		eof, err := s.fill()
		if err != nil {
			return copied{}, readErr(err, s.n, total)
		}
		if err := s.flush(); err != nil {
			return copied{}, diskErr(err)
		}
		if s.n > limit {
			return copied{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if eof {
			s.prog.report(s.n, true)
			return copied{n: s.n, sum: hex.EncodeToString(s.h.Sum(nil))}, nil
		}
	}
}

type streamer struct {
	dst    io.Writer
	src    io.Reader
	h      hash.Hash
	buf    []byte
	filled int
	n      int64 // bytes read so far
	feed   func()
	prog   progress
}

// fill reads until the buffer is full, the source ends (eof), or it fails.
func (s *streamer) fill() (eof bool, err error) {
	for s.filled < len(s.buf) {
		m, err := s.src.Read(s.buf[s.filled:])
		if m > 0 {
			s.filled += m
			s.n += int64(m)
			s.feed()
			s.prog.report(s.n, false)
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

func (s *streamer) flush() error {
	if s.filled == 0 {
		return nil
	}
	if _, err := s.dst.Write(s.buf[:s.filled]); err != nil {
		return err
	}
	s.h.Write(s.buf[:s.filled])
	s.filled = 0
	return nil
}

// readErr marks a body that ended early as truncated.
func readErr(err error, got, total int64) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) && total >= 0:
		return fmt.Errorf("%w: got %d of %d bytes: %w", ErrTruncated, got, total, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: body ended after %d bytes: %w", ErrTruncated, got, err)
	}
	return fmt.Errorf("read body: %w", err)
}

// progress calls fn at most 10 times a second, plus once at the end.
type progress struct {
	fn    func(name string, done, total int64)
	name  string
	total int64
	last  time.Time
}

func (p *progress) report(done int64, final bool) {
	if p.fn == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	p.fn(p.name, done, p.total)
}
