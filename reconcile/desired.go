package reconcile

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/errclass"
	"github.com/reconciler-dev/reconciler/internal/redact"
	"github.com/reconciler-dev/reconciler/internal/relversion"
	"github.com/reconciler-dev/reconciler/internal/repopath"
)

// ErrInvalidDesired marks a desired state file that cannot be deployed as is:
// the deploy repo must be fixed.
var ErrInvalidDesired = errclass.New(errclass.NeedsPerson, "invalid desired state")

// maxDesiredSize bounds the desired state file; a real one is a few hundred
// bytes.
const maxDesiredSize = 1 << 20

// Desired is the desired state file of the deploy repo (docs/reference.md, "The desired state file").
type Desired struct {
	Version string    `json:"version"`
	Bin     *Artifact `json:"bin"`
	Cfg     *Artifact `json:"cfg,omitempty"`
	// Rollout, when set, sends this release to a share of the fleet only;
	// the other hosts run Rollout.From (see rollout.go).
	Rollout *Rollout `json:"rollout,omitempty"`
}

// Artifact names the bytes of a release file: a URL, an OCI artifact or an
// S3 object with its sha256, or a file of the deploy repo at the same commit.
type Artifact struct {
	URL string `json:"url,omitempty"`
	// OCI is registry/repository@sha256:<manifest digest>; File picks the
	// layer by its org.opencontainers.image.title (else the only layer).
	OCI    string `json:"oci,omitempty"`
	File   string `json:"file,omitempty"`
	S3     string `json:"s3,omitempty"` // s3://bucket/key
	SHA256 string `json:"sha256,omitempty"`
	Path   string `json:"path,omitempty"`
}

// FromRepo reports whether the artifact is a file of the deploy repo.
func (a *Artifact) FromRepo() bool { return a.Path != "" }

var versionRE = relversion.RE // one rule, shared with the agent's own releases

// ParseDesired strictly parses and validates a desired state file. name is the
// file's path in the repo, used in messages. Unknown keys, duplicate keys,
// trailing data, a bad version, digest, scheme or path are all errors naming
// the file and the key.
func ParseDesired(name string, data []byte) (Desired, error) {
	var d Desired
	fail := func(format string, args ...any) (Desired, error) {
		return Desired{}, fmt.Errorf("%s: %w: %s", name, ErrInvalidDesired, fmt.Sprintf(format, args...))
	}
	if len(data) > maxDesiredSize {
		return fail("file is %d bytes, more than the %d allowed", len(data), maxDesiredSize)
	}
	if err := checkDuplicateKeys(data); err != nil {
		return fail("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fail("%s", describeJSONError(err, data, &d))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("trailing data after the JSON object")
	}
	if err := d.Validate(); err != nil {
		return fail("%v", err)
	}
	return d, nil
}

// Validate checks the semantic rules of docs/reference.md and normalises digests to
// lower case.
func (d *Desired) Validate() error {
	if d.Version == "" {
		return errors.New(`key "version" is required`)
	}
	if !versionRE.MatchString(d.Version) {
		return fmt.Errorf(`key "version": %q must be 1 to 64 of A-Z a-z 0-9 . _ + - and not start with "."`, d.Version)
	}
	if d.Bin == nil {
		return errors.New(`key "bin" is required`)
	}
	if err := d.Bin.validate("bin"); err != nil {
		return err
	}
	if d.Cfg != nil {
		if err := d.Cfg.validate("cfg"); err != nil {
			return err
		}
	}
	if d.Rollout != nil {
		return d.Rollout.validate(d)
	}
	return nil
}

func (a *Artifact) validate(key string) error {
	src, err := a.source(key)
	if err != nil {
		return err
	}
	if a.File != "" && src != "oci" {
		return fmt.Errorf(`key "%s.file": only allowed with "oci"`, key)
	}
	switch src {
	case "path":
		if a.SHA256 != "" {
			return fmt.Errorf(`key "%s.sha256": not allowed with "path" (a "path" is verified by git)`, key)
		}
		if err := checkRepoPath(a.Path); err != nil {
			return fmt.Errorf(`key "%s.path": %w`, key, err)
		}
		return nil
	case "url":
		err = checkURL(a.URL)
	case "oci":
		err = checkOCI(a)
	case "s3":
		_, err = artifacts.ParseS3URL(a.S3)
	}
	if err != nil {
		return fmt.Errorf(`key "%s.%s": %w`, key, src, err)
	}
	if a.SHA256 == "" {
		return fmt.Errorf(`key "%s.sha256" is required with %q`, key, src)
	}
	sum := strings.ToLower(a.SHA256)
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return fmt.Errorf(`key "%s.sha256": %q is not 64 hex digits`, key, a.SHA256)
	}
	a.SHA256 = sum
	return nil
}

// source names the one source key the artifact gives.
func (a *Artifact) source(key string) (string, error) {
	var given []string
	for _, s := range []struct{ name, val string }{{"url", a.URL}, {"oci", a.OCI}, {"s3", a.S3}, {"path", a.Path}} {
		if s.val != "" {
			given = append(given, `"`+s.name+`"`)
		}
	}
	switch len(given) {
	case 1:
		return strings.Trim(given[0], `"`), nil
	case 0:
		return "", fmt.Errorf(`key %q: one of "url", "oci", "s3" (each with "sha256") or "path" is required`, key)
	}
	return "", fmt.Errorf(`key %q: give exactly one of "url", "oci", "s3" and "path", not %s`, key, strings.Join(given, " and "))
}

func checkOCI(a *Artifact) error {
	if _, err := artifacts.ParseOCIRef(a.OCI); err != nil {
		return err
	}
	if a.File != "" {
		if err := artifacts.CheckOCIFile(a.File); err != nil {
			return fmt.Errorf(`"file": %w`, err)
		}
	}
	return nil
}

// Locator is what the Downloader fetches: the URL, or the locator of the
// OCI artifact or S3 object (artifacts.OCILocator). Only a URL may hold a
// credential: never print it, print Origin.
func (a *Artifact) Locator() string {
	switch {
	case a.OCI != "":
		ref, _ := artifacts.ParseOCIRef(a.OCI) // validated
		return artifacts.OCILocator(ref, a.File)
	case a.S3 != "":
		return a.S3
	}
	return a.URL
}

// Origin names the artifact's source for people: the redacted URL, or the
// OCI or S3 reference, which hold no credential.
func (a *Artifact) Origin() string {
	if a.URL != "" {
		return redact.URL(a.URL)
	}
	return a.Locator()
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("cannot parse URL %q", redact.URL(raw))
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("%s has no host", redact.URL(raw))
		}
	case "file":
		if u.Path == "" || !path.IsAbs(u.Path) {
			return fmt.Errorf("%s: a file URL needs an absolute path", redact.URL(raw))
		}
	default:
		return fmt.Errorf("%s: unsupported URL scheme %q (use http, https or file)", redact.URL(raw), u.Scheme)
	}
	return nil
}

// checkRepoPath refuses a path from the deploy repo that could leave it, or
// that is not in clean form (package internal/repopath: the one rule, also
// applied by gitsrc at read time).
func checkRepoPath(p string) error { return repopath.CheckClean(p) }
