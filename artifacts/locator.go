package artifacts

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// The locator schemes of the stores (Fetcher.Stores).
const (
	SchemeOCI = "oci"
	SchemeS3  = "s3"
)

// OCIRef is an OCI artifact pinned by its manifest digest:
// Registry/Repository@Digest.
type OCIRef struct {
	Registry   string // host[:port]
	Repository string // team/web
	Digest     string // sha256:<64 hex>
}

func (r OCIRef) String() string { return r.Registry + "/" + r.Repository + "@" + r.Digest }

// repoRE is the OCI distribution spec's repository name.
var repoRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// ParseOCIRef parses "registry/repository@sha256:<manifest digest>". A tag
// instead of a digest wraps ErrNotPinned: tags move, a release must not.
// The registry must be named (a host with a dot or a port, or localhost):
// there is no default registry.
func ParseOCIRef(ref string) (OCIRef, error) {
	name, digest, pinned := strings.Cut(ref, "@")
	if !pinned {
		if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") && strings.Contains(name, "/") {
			return OCIRef{}, fmt.Errorf("%w: %q names the tag %q; pin the manifest: %s@sha256:<digest>", ErrNotPinned, ref, name[i+1:], name[:i])
		}
		return OCIRef{}, fmt.Errorf("%w: %q has no @sha256:<manifest digest>", ErrNotPinned, ref)
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return OCIRef{}, fmt.Errorf("%q: give the digest only, not the tag %q as well", ref, name[i+1:])
	}
	hexpart, ok := strings.CutPrefix(digest, "sha256:")
	if b, err := hex.DecodeString(hexpart); !ok || err != nil || len(b) != 32 || strings.ToLower(hexpart) != hexpart {
		return OCIRef{}, fmt.Errorf("%q: the digest must be sha256: and 64 lower-case hex digits", ref)
	}
	registry, repo, ok := strings.Cut(name, "/")
	if !ok || !(strings.ContainsAny(registry, ".:") || registry == "localhost") {
		return OCIRef{}, fmt.Errorf("%q: name the registry host first (registry.example.com/team/web@sha256:...)", ref)
	}
	if u, err := url.Parse("//" + registry); err != nil || u.Host != registry || u.User != nil {
		return OCIRef{}, fmt.Errorf("%q: %q is not a host[:port]", ref, registry)
	}
	if !repoRE.MatchString(repo) {
		return OCIRef{}, fmt.Errorf("%q: %q is not a repository name (lower case, digits, . _ - and /)", ref, repo)
	}
	return OCIRef{Registry: registry, Repository: repo, Digest: digest}, nil
}

// CheckOCIFile checks the name of an OCI layer to pick (its
// org.opencontainers.image.title).
func CheckOCIFile(file string) error {
	if file == "" || len(file) > 255 || strings.IndexFunc(file, unicode.IsControl) >= 0 {
		return fmt.Errorf("%q is not a layer title (1 to 255 characters, no control characters)", file)
	}
	return nil
}

// OCILocator is the locator Fetch takes for an OCI artifact:
// oci://registry/repository@sha256:...[?file=name].
func OCILocator(ref OCIRef, file string) string {
	s := SchemeOCI + "://" + ref.String()
	if file != "" {
		s += "?" + url.Values{"file": {file}}.Encode()
	}
	return s
}

// ParseOCILocator is the inverse of OCILocator.
func ParseOCILocator(u *url.URL) (OCIRef, string, error) {
	if u.Scheme != SchemeOCI || u.User != nil || u.Fragment != "" {
		return OCIRef{}, "", fmt.Errorf("%q is not an oci:// locator", u.Redacted())
	}
	ref, err := ParseOCIRef(u.Host + u.Path)
	if err != nil {
		return OCIRef{}, "", err
	}
	q := u.Query()
	file := q.Get("file")
	if len(q) > 1 || (len(q) == 1 && file == "") {
		return OCIRef{}, "", fmt.Errorf("%q: only ?file= may follow the reference", u.Redacted())
	}
	return ref, file, nil
}

// S3Object is an object of a bucket.
type S3Object struct{ Bucket, Key string }

func (o S3Object) String() string { return SchemeS3 + "://" + o.Bucket + "/" + o.Key }

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseS3URL parses "s3://bucket/key".
func ParseS3URL(raw string) (S3Object, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != SchemeS3 {
		return S3Object{}, fmt.Errorf("%q is not an s3://bucket/key URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return S3Object{}, fmt.Errorf("%q: only s3://bucket/key (no user, query or fragment)", u.Redacted())
	}
	if !bucketRE.MatchString(u.Host) {
		return S3Object{}, fmt.Errorf("%q: %q is not a bucket name (3 to 63 of a-z 0-9 . -)", raw, u.Host)
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key == "" || strings.HasSuffix(key, "/") {
		return S3Object{}, fmt.Errorf("%q names no object key", raw)
	}
	return S3Object{Bucket: u.Host, Key: key}, nil
}
