package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// ArtifactType is the artifactType of the manifests Pack makes.
const ArtifactType = "application/vnd.reconciler.release.v1"

// LayerMediaType is the media type of the one layer: the file's bytes as
// they are (not a tar).
const LayerMediaType = "application/octet-stream"

// Packed is a file packed as a one-layer OCI artifact, as oras push packs
// it (an empty {} config of media type application/vnd.oci.empty.v1+json,
// ArtifactType, the layer titled with org.opencontainers.image.title),
// but without the org.opencontainers.image.created annotation oras adds:
// the same file under the same title always gives the same manifest, so
// its digest is known before anything is pushed (a dry run computes it, a
// second push of the same bytes pins the same digest).
type Packed struct {
	Manifest []byte             // the manifest's JSON, as pushed
	Desc     ocispec.Descriptor // the manifest's descriptor
	Layer    ocispec.Descriptor // the file's
}

// Digest is the manifest's digest, sha256:<hex>.
func (p Packed) Digest() string { return p.Desc.Digest.String() }

// Pack builds the manifest of a file whose sha256 (hex) and size are
// known, under the layer title title.
func Pack(title, sha256hex string, size int64) (Packed, error) {
	if err := artifacts.CheckOCIFile(title); err != nil {
		return Packed{}, err
	}
	layer := ocispec.Descriptor{MediaType: LayerMediaType, Digest: digest.NewDigestFromEncoded(digest.SHA256, sha256hex),
		Size: size, Annotations: map[string]string{ocispec.AnnotationTitle: title}}
	if err := layer.Digest.Validate(); err != nil {
		return Packed{}, fmt.Errorf("pack %s: %w", title, err)
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       ocispec.DescriptorEmptyJSON,
		Layers:       []ocispec.Descriptor{layer},
	}
	data, err := json.Marshal(m)
	if err != nil {
		return Packed{}, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(data),
		Size: int64(len(data)), ArtifactType: ArtifactType}
	return Packed{Manifest: data, Desc: desc, Layer: layer}, nil
}

// tagRE is the distribution spec's tag.
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Target is where a push goes: registry/repository, and a tag.
type Target struct {
	Registry, Repository, Tag string
}

func (t Target) String() string { return t.Registry + "/" + t.Repository + ":" + t.Tag }

// Pinned is the reference that pins what was pushed there.
func (t Target) Pinned(p Packed) string {
	return t.Registry + "/" + t.Repository + "@" + p.Digest()
}

// ParseTarget parses registry/repository[:tag]; without a tag, tag is
// given, with each "+" (allowed in a version, not in a tag) made "_", as
// Helm does. A digest is refused: the push makes it.
func ParseTarget(ref, tag string) (Target, error) {
	if strings.Contains(ref, "@") {
		return Target{}, fmt.Errorf("%q: give a repository and optionally a tag, not a digest (the push makes the digest)", ref)
	}
	name := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	} else {
		tag = strings.ReplaceAll(tag, "+", "_")
	}
	// The registry and repository rules are ParseOCIRef's.
	r, err := artifacts.ParseOCIRef(name + "@" + digest.FromString("").String())
	if err != nil {
		return Target{}, fmt.Errorf("%q: name the registry and the repository (registry.example.com/team/web[:tag])", ref)
	}
	if !tagRE.MatchString(tag) {
		return Target{}, fmt.Errorf("%q: %q is not a tag (1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)", ref, tag)
	}
	return Target{Registry: r.Registry, Repository: r.Repository, Tag: tag}, nil
}

// Push pushes the packed artifact of the file at path to t: the config
// and the layer (each unless the registry has it), then the manifest,
// tagged. The registry checks each blob against its digest, so a file
// that changed since it was hashed is refused, not pushed. Errors are
// sorted as Open's are (401/403 access denied, 404 not found).
func (s *Store) Push(ctx context.Context, t Target, p Packed, path string) error {
	plain := s.plain.speaksPlain(t.Registry)
	err := s.push(ctx, t, p, path, plain)
	if !plain && s.plain.fallBack(t.Registry, err) {
		err = s.push(ctx, t, p, path, true) // as Open does
	}
	return err
}

func (s *Store) push(ctx context.Context, t Target, p Packed, path string, plain bool) error {
	repo, err := s.repository(t.Registry, t.Repository, plain)
	if err != nil {
		return err
	}
	if err := pushBlob(ctx, repo, ocispec.DescriptorEmptyJSON, func() (*os.File, error) { return nil, nil }); err != nil {
		return sortErr("push the config of "+t.String(), err)
	}
	if err := pushBlob(ctx, repo, p.Layer, func() (*os.File, error) { return os.Open(path) }); err != nil {
		return sortErr("push "+path+" to "+t.String(), err)
	}
	if err := repo.PushReference(ctx, p.Desc, bytes.NewReader(p.Manifest), t.Tag); err != nil {
		return sortErr("push the manifest of "+t.String(), err)
	}
	return nil
}

// pushBlob pushes a blob unless the registry has it; open gives its file
// (nil for the empty config).
func pushBlob(ctx context.Context, repo *remote.Repository, d ocispec.Descriptor, open func() (*os.File, error)) error {
	ok, err := repo.Exists(ctx, d)
	if err != nil || ok {
		return err
	}
	f, err := open()
	if err != nil {
		return err
	}
	if f == nil {
		return repo.Push(ctx, d, bytes.NewReader(ocispec.DescriptorEmptyJSON.Data))
	}
	defer f.Close()
	return repo.Push(ctx, d, f)
}
