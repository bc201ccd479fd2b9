package oci

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// Options configure a Store.
type Options struct {
	// Config is the docker config.json with the credentials. "" means
	// $DOCKER_CONFIG/config.json, then ~/.docker/config.json; a missing
	// default file means no credentials.
	Config string
	// TLS holds the CAs to trust (nil: the system's).
	TLS *tls.Config
	// Insecure names registry hosts (host or host:port) that may be
	// reached over plain HTTP besides loopback ones.
	Insecure []string
}

// Store opens OCI artifacts (see the package doc). Safe for concurrent use.
type Store struct {
	config string
	http   *http.Client
	plain  *plainPolicy
}

// New returns a Store. An explicit Options.Config must exist.
func New(opts Options) (*Store, error) {
	path := opts.Config
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("registry config: %w", err)
		}
	} else {
		path = defaultConfig()
	}
	base := artifacts.NewClient(opts.TLS)
	plain := newPlainPolicy(base.Transport, opts.Insecure)
	hc := &http.Client{Transport: plain, CheckRedirect: artifacts.RefuseDowngrade}
	return &Store{config: path, http: hc, plain: plain}, nil
}

// defaultConfig is docker's own lookup: $DOCKER_CONFIG, then the home dir.
func defaultConfig() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// credential reads config.json at each use: an operator's fix needs no restart.
func (s *Store) credential(ctx context.Context, hostport string) (auth.Credential, error) {
	if s.config == "" {
		return auth.EmptyCredential, nil
	}
	st, err := credentials.NewStore(s.config, credentials.StoreOptions{})
	if err != nil {
		return auth.EmptyCredential, fmt.Errorf("read registry config %s: %w", s.config, err)
	}
	return credentials.Credential(st)(ctx, hostport)
}

// Open fetches the manifest of loc and opens the chosen layer's blob.
func (s *Store) Open(ctx context.Context, loc *url.URL) (artifacts.Blob, error) {
	ref, file, err := artifacts.ParseOCILocator(loc)
	if err != nil {
		return artifacts.Blob{}, err
	}
	plain := s.plain.speaksPlain(ref.Registry)
	b, err := s.open(ctx, ref, file, plain)
	if !plain && s.plain.fallBack(ref.Registry, err) {
		// A loopback or insecure registry that speaks HTTP only, as docker
		// finds out: ask again, all of it over HTTP (oras-go refuses to
		// mix: a token realm in http for a registry asked in https).
		b, err = s.open(ctx, ref, file, true)
	}
	return b, err
}

func (s *Store) open(ctx context.Context, ref artifacts.OCIRef, file string, plain bool) (artifacts.Blob, error) {
	repo, err := s.repository(ref.Registry, ref.Repository, plain)
	if err != nil {
		return artifacts.Blob{}, fmt.Errorf("%s: %w", ref, err)
	}
	m, err := fetchManifest(ctx, repo, ref)
	if err != nil {
		return artifacts.Blob{}, err
	}
	layer, err := pickLayer(m, file)
	if err != nil {
		return artifacts.Blob{}, fmt.Errorf("manifest %s: %w", ref, err)
	}
	body, err := repo.Blobs().Fetch(ctx, layer)
	if err != nil {
		return artifacts.Blob{}, sortErr("fetch layer "+layer.Digest.String()+" of "+ref.String(), err)
	}
	return artifacts.Blob{Body: body, Size: layer.Size, SHA256: strings.TrimPrefix(layer.Digest.String(), "sha256:")}, nil
}

// repository is a client of one repository, over plain HTTP or not. A
// client per download or push: its cache keeps the credential or token
// for the manifest and the blobs, and the next one reads config.json
// again (a changed password is used, a removed one is no longer).
func (s *Store) repository(registry, name string, plain bool) (*remote.Repository, error) {
	repo, err := remote.NewRepository(registry + "/" + name)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = plain
	client := &auth.Client{Client: s.http, Cache: auth.NewCache(), Credential: s.credential}
	client.SetUserAgent("reconciler")
	repo.Client = client
	return repo, nil
}

// maxManifest bounds a manifest read into memory.
const maxManifest = 4 << 20

func fetchManifest(ctx context.Context, repo *remote.Repository, ref artifacts.OCIRef) (ocispec.Manifest, error) {
	desc, rc, err := repo.Manifests().FetchReference(ctx, ref.Digest)
	if err != nil {
		return ocispec.Manifest{}, sortErr("fetch manifest "+ref.String(), err)
	}
	defer rc.Close()
	if desc.Size > maxManifest {
		return ocispec.Manifest{}, fmt.Errorf("manifest %s: %d bytes, more than %d", ref, desc.Size, maxManifest)
	}
	data, err := content.ReadAll(rc, desc) // checks size and digest
	if err != nil {
		return ocispec.Manifest{}, fmt.Errorf("read manifest %s: %w", ref, err)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest && desc.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		return ocispec.Manifest{}, fmt.Errorf("manifest %s: media type %q is not an image manifest (an index? pin the platform's manifest)", ref, desc.MediaType)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return ocispec.Manifest{}, fmt.Errorf("manifest %s: %w", ref, err)
	}
	return m, nil
}

// pickLayer finds the layer titled file, or the only layer when file is "".
func pickLayer(m ocispec.Manifest, file string) (ocispec.Descriptor, error) {
	if file == "" {
		if len(m.Layers) != 1 {
			return ocispec.Descriptor{}, fmt.Errorf("%w: %d layers and no \"file\" to pick one", artifacts.ErrNotFound, len(m.Layers))
		}
		return m.Layers[0], nil
	}
	var titles []string
	for _, l := range m.Layers {
		t := l.Annotations[ocispec.AnnotationTitle]
		if t == file {
			return l, nil
		}
		titles = append(titles, fmt.Sprintf("%q", t))
	}
	return ocispec.Descriptor{}, fmt.Errorf("%w: no layer titled %q (titles: %s)", artifacts.ErrNotFound, file, strings.Join(titles, ", "))
}

// sortErr gives a registry's refusal its class (artifacts.StoreError).
func sortErr(op string, err error) error {
	var er *errcode.ErrorResponse
	switch {
	case errors.As(err, &er):
		return &artifacts.StoreError{Op: op, Code: er.StatusCode, Err: err}
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		// The registry asked for basic auth and config.json has none for it.
		return &artifacts.StoreError{Op: op, Code: http.StatusUnauthorized, Err: err}
	case errors.Is(err, errdef.ErrNotFound):
		return &artifacts.StoreError{Op: op, Code: http.StatusNotFound, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}
