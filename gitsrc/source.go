package gitsrc

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// DefaultRef is the branch a Source follows when Options.Ref is "".
const DefaultRef = "main"

// DefaultTimeout bounds each remote call when Options.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// DefaultMaxFileSize bounds what ReadFile returns when Options.MaxFileSize is 0.
const DefaultMaxFileSize = 64 << 20

// DefaultMaxStreamSize bounds what OpenFile streams when
// Options.MaxStreamSize is 0 (as --max-artifact-size does by default).
const DefaultMaxStreamSize = 2 << 30

// largeObject is the size above which a blob of the on-disk cache is read
// from its pack as it is decompressed instead of whole into memory (go-git's
// LargeObjectThreshold), so a large binary committed to the deploy repo is
// never held in memory.
const largeObject = 1 << 20

// Options configures a Source.
type Options struct {
	// URL of the deploy repo: https://, http://, ssh://, git://, git@host:path,
	// file:// or a local path (absolute or relative to the working directory).
	URL string
	// Ref is the branch or tag to follow: a short name ("main", "v1.2"; a
	// branch wins over a tag of the same name) or a full "refs/heads/x",
	// "refs/tags/x". "" means DefaultRef.
	Ref string
	// CacheDir holds the depth-1 bare clone between calls and runs. "" keeps
	// it in memory for the Source's lifetime and writes nothing to disk.
	CacheDir string
	// Timeout bounds each remote call (ref listing, fetch, clone); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Auth authenticates remote calls; nil uses the URL's own credentials,
	// if any.
	Auth transport.AuthMethod
	// MaxFileSize bounds the size of a file ReadFile returns; 0 means
	// DefaultMaxFileSize.
	MaxFileSize int64
	// MaxStreamSize bounds the size of a file OpenFile streams; 0 means
	// DefaultMaxStreamSize.
	MaxStreamSize int64
	// CABundle holds extra PEM CA certificates for an https deploy repo,
	// used together with the system roots (--ca-file).
	CABundle []byte
}

// Source reads a deploy repo through a depth-1 cache. It is not safe for
// concurrent use: use a Source from one goroutine at a time, and a CacheDir
// from one Source at a time.
type Source struct {
	url       string // normalised, as given to go-git; may carry credentials
	logURL    string // redact.URL(url): the only form in errors
	secrets   []string
	ref       string                 // as configured, e.g. "main" or "refs/tags/v1"
	full      plumbing.ReferenceName // resolved full ref name, "" until known
	dir       string                 // cache directory, "" for memory
	timeout   time.Duration
	auth      transport.AuthMethod
	caBundle  []byte
	maxSize   int64
	maxStream int64

	stats       counters
	http        *httpV2         // protocol v2 over HTTP(S); nil if not (yet) made
	httpChecked bool            // newHTTPV2 ran: a nil http is final
	v0          bool            // the last listing was a v0 server\'s: go-git fetches
	v2Failed    bool            // a v2 fetch failed once objects were coming: go-git fetches
	repo        *git.Repository // open cache, nil until opened or cloned
	fetches     int             // fetches into repo since it was cloned
	distrust    bool            // a read failed oddly: re-clone on the next Fetch
}

// New validates opts and returns a Source. It does no network I/O and does
// not touch CacheDir.
func New(opts Options) (*Source, error) {
	u, err := normaliseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	ref := opts.Ref
	if ref == "" {
		ref = DefaultRef
	}
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("git timeout %s: must not be negative", opts.Timeout)
	}
	if opts.MaxFileSize < 0 || opts.MaxStreamSize < 0 {
		return nil, fmt.Errorf("max file size %d: must not be negative", opts.MaxFileSize)
	}
	s := &Source{
		url: u, logURL: redact.URL(u), secrets: secrets(u, opts.Auth),
		ref: ref, timeout: opts.Timeout, auth: opts.Auth, caBundle: opts.CABundle, maxSize: opts.MaxFileSize,
		maxStream: opts.MaxStreamSize,
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxSize == 0 {
		s.maxSize = DefaultMaxFileSize
	}
	if s.maxStream == 0 {
		s.maxStream = DefaultMaxStreamSize
	}
	if strings.HasPrefix(ref, "refs/") {
		s.full = plumbing.ReferenceName(ref)
	}
	if opts.CacheDir != "" {
		if s.dir, err = filepath.Abs(opts.CacheDir); err != nil {
			return nil, fmt.Errorf("git cache dir %s: %w", opts.CacheDir, err)
		}
	}
	return s, nil
}

// URL returns the deploy repo's URL in the form safe to log.
func (s *Source) URL() string { return s.logURL }

// Ref returns the ref the Source follows, as configured ("main" if unset).
func (s *Source) Ref() string { return s.ref }

// normaliseURL checks the URL's form and makes a local path absolute.
func normaliseURL(raw string) (string, error) {
	switch {
	case raw == "":
		return "", errors.New("deploy repo URL is empty")
	case strings.ContainsAny(raw, "\x00\n\r"):
		return "", fmt.Errorf("deploy repo URL %q: contains a control character", redact.URL(raw))
	case strings.Contains(raw, "://"):
		return checkSchemeURL(raw)
	case isSCPLike(raw):
		return raw, nil
	}
	abs, err := filepath.Abs(raw)
	if err != nil {
		return "", fmt.Errorf("deploy repo path %s: %w", raw, err)
	}
	return abs, nil
}

func checkSchemeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("deploy repo URL %s: does not parse", redact.URL(raw))
	}
	switch u.Scheme {
	case "http", "https", "ssh", "git":
		if u.Host == "" {
			return "", fmt.Errorf("deploy repo URL %s: no host", redact.URL(raw))
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("deploy repo URL %s: a file:// URL needs an absolute path (file:///path)", redact.URL(raw))
		}
	default:
		return "", fmt.Errorf("deploy repo URL %s: unsupported scheme %q (use https, http, ssh, git, file or a local path)", redact.URL(raw), u.Scheme)
	}
	return raw, nil
}

// checkRef applies git's rules for ref names (git check-ref-format) to the
// configured ref, short or full.
func checkRef(ref string) error {
	bad := func(why string) error { return fmt.Errorf("git ref %q: %s", ref, why) }
	switch {
	case strings.HasPrefix(ref, "refs/") && !strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/"):
		return bad("only refs/heads/... and refs/tags/... can be followed")
	case strings.HasPrefix(ref, "-"):
		return bad("starts with '-'")
	case strings.HasSuffix(ref, "/"), strings.HasSuffix(ref, "."), strings.HasSuffix(ref, ".lock"):
		return bad("bad ending")
	case strings.Contains(ref, ".."), strings.Contains(ref, "//"), strings.Contains(ref, "@{"), ref == "@":
		return bad("contains '..', '//' or '@{'")
	case strings.ContainsAny(ref, " ~^:?*[\\\x7f"):
		return bad("contains a character git forbids in ref names")
	}
	for _, r := range ref {
		if r < 0x20 {
			return bad("contains a control character")
		}
	}
	for _, part := range strings.Split(ref, "/") {
		if part == "" || strings.HasPrefix(part, ".") {
			return bad("has an empty component or one starting with '.'")
		}
	}
	return nil
}

// SameRepo reports whether a and b follow the same repo and ref: the same
// URL once normalised (a local path made absolute) and the same ref as
// given ("" is DefaultRef; "main" and "refs/heads/main" count as two).
// Credentials and limits are not compared: the caller builds both from
// one set of settings.
func SameRepo(a, b Options) bool {
	ua, errA := normaliseURL(a.URL)
	ub, errB := normaliseURL(b.URL)
	ra, rb := cmp.Or(a.Ref, DefaultRef), cmp.Or(b.Ref, DefaultRef)
	return errA == nil && errB == nil && ua == ub && ra == rb
}
