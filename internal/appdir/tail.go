package appdir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
)

// The end of a program's output (app.log, a hook's or the health
// command's output, a notification's detail) is cut the one way below:
// the last bytes, from the start of a line when one starts within them
// (the last lines say most, and a cut line says nothing), as valid UTF-8
// (an invalid byte becomes "?", so the text stays printable and the
// length visible).

// Tail keeps the end of b, at most n bytes, from the start of a line when
// one starts within them; cut reports that something before was left out.
func Tail(b []byte, n int) (tail []byte, cut bool) {
	if len(b) > n {
		b, cut = b[len(b)-max(n, 0):], true
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	return bytes.ToValidUTF8(b, []byte("?")), cut
}

// ReadTail is Tail of the file f, reading only its last n bytes. A file
// that cannot be read gives nothing.
func ReadTail(f *os.File, n int) (tail []byte, cut bool) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false
	}
	off := max(fi.Size()-int64(n), 0)
	buf := make([]byte, fi.Size()-off)
	m, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false
	}
	if off > 0 { // Tail, knowing that more came before
		buf = append([]byte{0}, buf[:m]...)
		return Tail(buf, m)
	}
	return Tail(buf[:m], n)
}

// LastLines is the last k lines of text, without its trailing newlines,
// as valid UTF-8; none for an empty text.
func LastLines(text string, k int) []string {
	text = strings.TrimRight(strings.ToValidUTF8(text, "?"), "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	return lines[max(len(lines)-k, 0):]
}
