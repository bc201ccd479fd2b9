package agentdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/relversion"
)

func TestInstall(t *testing.T) {
	d := openDir(t)
	data := script("echo 2")
	path := install(t, d, "2", data)
	if want := filepath.Join(d.Path(), "versions", "2", "reconciler"); path != want {
		t.Errorf("got %s, want %s", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("got mode %v, want 0755", fi.Mode().Perm())
	}
	if got := record(t, d).Installed["2"]; got != sum(data) {
		t.Errorf("recorded sha256 %s, want %s", got, sum(data))
	}
	if _, ok := d.Installed("2", sum(data)); !ok {
		t.Error("Installed: got false, want true")
	}
}

// failReader fails the test if anything reads it.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("the reader was read: the installed version was downloaded again")
	return 0, io.EOF
}

func TestInstallKeepsVerifiedVersion(t *testing.T) {
	d := openDir(t)
	data := script("echo 2")
	install(t, d, "2", data)
	if _, err := d.Install(t.Context(), "2", failReader{t}, sum(data)); err != nil {
		t.Fatal(err)
	}
}

// truncated yields part of data, then fails as a cut connection does.
type truncated struct{ r io.Reader }

func (tr *truncated) Read(p []byte) (int, error) {
	n, err := tr.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func TestInstallBadInput(t *testing.T) {
	data := script("echo 2")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		what    string
		version string
		r       io.Reader
		sum     string
		ctx     context.Context
		want    error  // errors.Is, when not nil
		words   string // in the message
	}{
		{"sha256 mismatch", "2", strings.NewReader("#!/bin/sh\necho evil\n"), sum(data), nil, artifacts.ErrDigestMismatch, "version 2"},
		{"truncated", "2", &truncated{strings.NewReader(string(data[:5]))}, sum(data), nil, io.ErrUnexpectedEOF, "version 2"},
		{"short but whole", "2", strings.NewReader(string(data[:5])), sum(data), nil, artifacts.ErrDigestMismatch, "version 2"},
		{"bad sha256", "2", strings.NewReader(string(data)), "abc", nil, nil, `invalid sha256 "abc"`},
		{"cancelled", "2", strings.NewReader(string(data)), sum(data), cancelled, context.Canceled, "version 2"},
		{"dot-dot", "..", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `".."`},
		{"path", "../../etc", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `"../../etc"`},
		{"slash", "a/b", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `"a/b"`},
		{"dot", ".", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `"."`},
		{"hidden", ".x", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `".x"`},
		{"empty", "", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `""`},
		{"control", "2\n", strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, `"2\n"`},
		{"long", strings.Repeat("9", 65), strings.NewReader(string(data)), sum(data), nil, relversion.ErrInvalid, "1 to 64"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			d := openDir(t)
			root := filepath.Dir(d.Path()) // the hostile names aim outside the dir
			before := tree(t, root)
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			_, err := d.Install(ctx, tc.version, tc.r, tc.sum)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("got %v, want an error (%v) saying %s", err, tc.want, tc.words)
			}
			after := slices.DeleteFunc(tree(t, root), func(p string) bool { return p == "agent/versions/2" }) // an empty version dir may stay
			if !slices.Equal(after, before) {
				t.Errorf("files: got %v, want %v (nothing half-written)", after, before)
			}
			if len(record(t, d).Installed) != 0 {
				t.Errorf("recorded installed: %v", record(t, d).Installed)
			}
		})
	}
}

// TestInstallReplacesChangedFile: a file of an unconfirmed version whose
// bytes changed on disk is replaced by the verified one; a confirmed
// version pinned with other bytes is refused as immutable.
func TestInstallReplacesChangedFile(t *testing.T) {
	d := openDir(t)
	data := script("echo 2")
	path := install(t, d, "2", data)
	if err := os.WriteFile(path, []byte("garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	install(t, d, "2", data)
	if got, _ := os.ReadFile(path); string(got) != string(data) {
		t.Errorf("got %q, want the verified bytes", got)
	}
	if err := d.Confirm("2"); err != nil {
		t.Fatal(err)
	}
	other := script("echo other 2")
	_, err := d.Install(t.Context(), "2", strings.NewReader(string(other)), sum(other))
	if !errors.Is(err, artifacts.ErrImmutable) || !strings.Contains(err.Error(), "new version") {
		t.Fatalf("got %v, want ErrImmutable", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(data) {
		t.Errorf("the confirmed file changed: %q", got)
	}
}

// TestFetch downloads from a real HTTP server that also fails.
func TestFetch(t *testing.T) {
	data := script("echo 3")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/good":
			w.Write(data)
		case "/corrupt":
			w.Write(append([]byte("X"), data[1:]...))
		case "/truncated":
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:4])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f := &artifacts.Fetcher{Attempts: 1}
	d := openDir(t)
	for _, tc := range []struct {
		path string
		want error
	}{
		{"/missing", nil},
		{"/corrupt", artifacts.ErrDigestMismatch},
		{"/truncated", nil},
	} {
		_, err := d.Fetch(t.Context(), f, "3", srv.URL+tc.path, sum(data))
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), srv.URL+tc.path) {
			t.Errorf("%s: got %v, want an error naming the URL", tc.path, err)
		}
		if entries, _ := os.ReadDir(filepath.Join(d.Path(), "versions", "3")); len(entries) != 0 {
			t.Errorf("%s: left %v", tc.path, entries)
		}
	}
	path, err := d.Fetch(t.Context(), f, "3", srv.URL+"/good", sum(data))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(data) {
		t.Errorf("got %q", got)
	}
	before := hits.Load()
	if _, err := d.Fetch(t.Context(), f, "3", srv.URL+"/good", sum(data)); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != before {
		t.Errorf("an installed version was downloaded again")
	}
}

func TestInstallFile(t *testing.T) {
	d := openDir(t)
	data := script("echo 4")
	src := filepath.Join(t.TempDir(), "reconciler")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := d.InstallFile(t.Context(), "4", src, sum(data))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(data) {
		t.Errorf("got %q", got)
	}
	missing := src + ".missing"
	if _, err := d.InstallFile(t.Context(), "5", missing, sum(data)); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: got %v, want ErrNotExist naming it", err)
	}
}
