package artifacts

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestFetchErrorsNeverShowCredentials(t *testing.T) {
	t.Parallel()
	srv, _ := counted(t, http.NotFound)
	host := strings.TrimPrefix(srv.URL, "http://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, sum := payload(1)
	secrets := []string{"s3cret", "s%33cret", "tok3n-value-123", "alice", "ghp_abcdef"}
	urls := []string{
		"http://alice:s3cret@" + host + "/x",
		"http://alice:s%33cret@" + host + "/x",            // escaped password
		"http://ghp_abcdef@" + host + "/x",                // token as user name
		"http://" + host + "/x?token=tok3n-value-123&a=b", // token in the query
		"http://alice:s3cret@" + closed + "/x",            // refused: net/http's error quotes the URL
		"http://alice:s3cret@" + host + "/x?token=tok3n-value-123#frag",
		"http://alice:s3cret@[::1/x",        // does not parse
		"ftp://alice:s3cret@" + host + "/x", // unsupported
		"file://alice:s3cret@otherhost/x",
	}
	for _, u := range urls {
		_, err := fast().Fetch(t.Context(), u, sum, t.TempDir(), "app", 0o755)
		if err == nil {
			t.Fatalf("%s: got no error", u)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q shows %q", err, s)
			}
		}
		if !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("error %q does not show where the credentials were", err)
		}
	}
}

// A Doer we do not control may quote the whole URL: the scrub catches it
// and keeps the chain intact.
func TestScrubCatchesLeakyDoer(t *testing.T) {
	t.Parallel()
	raw := "https://alice:s%33cret@example.com/x?sig=presigned-signature"
	f := fast()
	f.Attempts = 1
	f.Client = leakyDoer{}
	_, sum := payload(1)
	_, err := f.Fetch(t.Context(), raw, sum, t.TempDir(), "app", 0o755)
	if !errors.Is(err, errLeak) {
		t.Fatalf("got %v, want errLeak in the chain", err)
	}
	for _, s := range []string{"s3cret", "s%33cret", "presigned-signature", "alice"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q", err, s)
		}
	}
}

var errLeak = errors.New("leak")

type leakyDoer struct{}

func (leakyDoer) Do(r *http.Request) (*http.Response, error) {
	p, _ := r.URL.User.Password()
	return nil, fmt.Errorf("cannot GET %s (user %s, password %s, escaped %s): %w",
		r.URL.String(), r.URL.User.Username(), p, "s%33cret", errLeak)
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://u:p@h/a/b?x=1&y=2#f": "https://xxxxx@h/a/b?x=xxxxx&y=xxxxx",
		"https://h/a":                 "https://h/a",
		"file:///srv/a":               "file:///srv/a",
	} {
		tg, err := parseTarget(raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tg.origin != want {
			t.Errorf("%s: got %s, want %s", raw, tg.origin, want)
		}
	}
}
