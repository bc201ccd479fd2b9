package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// open starts reading the artifact at t and returns its body and announced
// length (-1 if unknown).
func (f *Fetcher) open(ctx context.Context, doer Doer, t target, want string) (io.ReadCloser, int64, error) {
	switch t.url.Scheme {
	case "file":
		return openFile(t)
	case "http", "https":
		return openHTTP(ctx, doer, t)
	}
	return f.openStore(ctx, t, want)
}

func openHTTP(ctx context.Context, doer Doer, t target) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", withoutURL(err))
	}
	// The digest is of the bytes as stored: no transparent decompression.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := doer.Do(req)
	if err != nil {
		return nil, 0, withoutURL(err)
	}
	if resp.StatusCode/100 != 2 {
		// Read a little so the connection may be reused, then give up on it.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, 0, &StatusError{URL: t.origin, Code: resp.StatusCode}
	}
	return resp.Body, resp.ContentLength, nil
}

// withoutURL drops the *url.Error layer that net/http adds: it repeats the
// URL with the user name and query in clear. The cause keeps its chain.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// openFile opens a file:///abs/path URL. A file path is no secret.
func openFile(t target) (io.ReadCloser, int64, error) {
	u := t.url
	if u.Host != "" && u.Host != "localhost" {
		return nil, 0, fmt.Errorf("%w: file URL with host %q (want file:///absolute/path)", ErrUnsupportedScheme, u.Host)
	}
	if u.Opaque != "" || !filepath.IsAbs(u.Path) {
		return nil, 0, errors.New("relative file URL (want file:///absolute/path)")
	}
	f, err := os.Open(filepath.FromSlash(u.Path))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", u.Path)
	}
	return f, st.Size(), nil
}
