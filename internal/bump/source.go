package bump

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/redact"
	"github.com/reconciler-dev/reconciler/internal/repopath"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Source is where the bytes of one artifact (bin or cfg) come from, as
// the flags --<key>-url, --<key>-file, --<key>-sha256, --<key>-repo-file,
// --<key>-path and --<key>-oci give it.
type Source struct {
	URL      string // where CI uploaded the bytes
	File     string // the bytes uploaded to URL, hashed here
	SHA256   string // their digest, when CI computed it
	RepoFile string // a local file committed into the deploy repo...
	RepoPath string // ...at this path
	// OCI is a registry repository, with a tag or not (then the version
	// is the tag), where File is pushed as a one-layer artifact.
	OCI string
}

// Given reports whether any flag of the source was set.
func (s Source) Given() bool { return s != Source{} }

// form is which of the documented forms a source is.
type form int

const (
	formNone     form = iota
	formURLFile       // --url with --file: hashed locally
	formURLSum        // --url with --sha256
	formURL           // --url alone: downloaded and hashed
	formRepoFile      // --repo-file with --path: committed
	formOCI           // --oci with --file: pushed, pinned by digest
)

// check refuses a combination of flags that is none of the forms, naming
// the flags (key is "bin" or "cfg").
func (s Source) check(key string) (form, error) {
	flag := func(name string) string { return "--" + key + "-" + name }
	bad := func(format string, args ...any) (form, error) {
		return formNone, usage(fmt.Errorf(format, args...))
	}
	switch {
	case s.OCI != "":
		if s.File == "" || s.URL != "" || s.SHA256 != "" || s.RepoFile != "" || s.RepoPath != "" {
			return bad("%s goes with %s (the file pushed), and with no %s, %s, %s or %s", flag("oci"), flag("file"), flag("url"), flag("sha256"), flag("repo-file"), flag("path"))
		}
		if _, err := oci.ParseTarget(s.OCI, "latest"); err != nil {
			return bad("%s: %w", flag("oci"), err)
		}
		return formOCI, nil
	case !s.Given():
		return formNone, nil
	case s.RepoFile != "" || s.RepoPath != "":
		if s.RepoFile == "" || s.RepoPath == "" || s.URL != "" || s.File != "" || s.SHA256 != "" {
			return bad("%s and %s go together, and with no %s, %s or %s", flag("repo-file"), flag("path"), flag("url"), flag("file"), flag("sha256"))
		}
		if err := repopath.CheckClean(s.RepoPath); err != nil {
			return bad("%s: %w", flag("path"), err)
		}
		return formRepoFile, nil
	case s.URL == "":
		return bad("%s and %s need %s (the URL agents download from)", flag("file"), flag("sha256"), flag("url"))
	case s.File != "" && s.SHA256 != "":
		return bad("give %s or %s, not both", flag("file"), flag("sha256"))
	}
	if err := checkURL(s.URL); err != nil {
		return bad("%s: %w", flag("url"), err)
	}
	switch {
	case s.File != "":
		return formURLFile, nil
	case s.SHA256 != "":
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
			return bad("%s %q: want 64 hex digits", flag("sha256"), s.SHA256)
		}
		return formURLSum, nil
	}
	return formURL, nil
}

// checkURL wants an http, https or file URL, as the desired file does.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("cannot parse URL %q", redact.URL(raw))
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" {
			return fmt.Errorf("%s has no host", redact.URL(raw))
		}
	case u.Scheme == "file":
		if !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("%s: a file URL needs an absolute path", raw)
		}
	default:
		return fmt.Errorf("%s: unsupported URL scheme %q (use http, https or file)", redact.URL(raw), u.Scheme)
	}
	return nil
}

// resolved is a source made into what the desired file says, and the
// file to commit with it (the repo-file form) or to push (the OCI form).
type resolved struct {
	art  *reconcile.Artifact
	file *gitsrc.File
	push *Push
}

// resolve hashes or reads what the source names. A missing or unreadable
// local file is a usage error; a URL that cannot be read is not.
func (s Source) resolve(ctx context.Context, key, version string, f *artifacts.Fetcher, maxSize int64) (resolved, error) {
	fm, err := s.check(key)
	if err != nil {
		return resolved{}, err
	}
	switch fm {
	case formNone:
		return resolved{}, nil
	case formURLSum:
		return resolved{art: &reconcile.Artifact{URL: s.URL, SHA256: strings.ToLower(s.SHA256)}}, nil
	case formURLFile:
		sum, err := hashFile(s.File, maxSize)
		if err != nil {
			return resolved{}, usage(fmt.Errorf("--%s-file: %w", key, err))
		}
		return resolved{art: &reconcile.Artifact{URL: s.URL, SHA256: sum}}, nil
	case formURL:
		sum, _, err := f.Sum(ctx, s.URL)
		if err != nil {
			return resolved{}, fmt.Errorf("--%s-url: %w", key, err)
		}
		return resolved{art: &reconcile.Artifact{URL: s.URL, SHA256: sum}}, nil
	case formOCI:
		return s.pack(key, version, maxSize)
	}
	data, err := readFile(s.RepoFile, maxSize)
	if err != nil {
		return resolved{}, usage(fmt.Errorf("--%s-repo-file: %w", key, err))
	}
	return resolved{art: &reconcile.Artifact{Path: s.RepoPath}, file: &gitsrc.File{Path: s.RepoPath, Data: data, Create: true}}, nil
}

// errTooLarge: a local file past --max-artifact-size.
var errTooLarge = errors.New("larger than --max-artifact-size")

// hashFile returns the sha256 of a regular file, streamed, refusing one
// past max bytes.
func hashFile(name string, max int64) (string, error) {
	if err := regular(name, max); err != nil {
		return "", err
	}
	return artifacts.FileSHA256(name)
}

// readFile reads a regular file of at most max bytes: it goes into a
// commit, which is built in memory.
func readFile(name string, max int64) ([]byte, error) {
	if err := regular(name, max); err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("%s: %w (%d bytes)", name, errTooLarge, max)
	}
	return data, err
}

func regular(name string, max int64) error {
	st, err := os.Stat(name)
	switch {
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", name)
	case max > 0 && st.Size() > max:
		return fmt.Errorf("%s: %w (%d bytes)", name, errTooLarge, max)
	}
	return nil
}

// Push is an OCI artifact a bump pushes before its commit: the file packed
// (artifacts/oci.Pack) and where it goes.
type Push struct {
	Target oci.Target `json:"-"`
	Ref    string     `json:"ref"`    // registry/repository:tag
	Pinned string     `json:"pinned"` // registry/repository@sha256:<manifest digest>
	File   string     `json:"file"`   // the local file
	Title  string     `json:"title"`  // its layer title: the file's base name
	SHA256 string     `json:"sha256"` // the file's digest
	Size   int64      `json:"size"`
	Packed oci.Packed `json:"-"`
	Pushed bool       `json:"pushed"` // false in a dry run, or when nothing changed
}

// pack hashes the file (streamed) and packs it: the digests the desired
// file pins are known here, before anything is pushed.
func (s Source) pack(key, version string, maxSize int64) (resolved, error) {
	t, err := oci.ParseTarget(s.OCI, version)
	if err != nil {
		return resolved{}, usage(fmt.Errorf("--%s-oci: %w", key, err))
	}
	sum, err := hashFile(s.File, maxSize)
	if err != nil {
		return resolved{}, usage(fmt.Errorf("--%s-file: %w", key, err))
	}
	st, err := os.Stat(s.File)
	if err != nil {
		return resolved{}, usage(fmt.Errorf("--%s-file: %w", key, err))
	}
	title := filepath.Base(s.File)
	p, err := oci.Pack(title, sum, st.Size())
	if err != nil {
		return resolved{}, usage(fmt.Errorf("--%s-file: %w", key, err))
	}
	push := &Push{Target: t, Ref: t.String(), Pinned: t.Pinned(p), File: s.File, Title: title, SHA256: sum, Size: st.Size(), Packed: p}
	return resolved{art: &reconcile.Artifact{OCI: push.Pinned, File: title, SHA256: sum}, push: push}, nil
}
