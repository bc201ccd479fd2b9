package storetest

import (
	"context"
	"fmt"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// Layer is a file to push: its title and where its bytes are.
type Layer struct {
	Title string
	Path  string
}

// Pushed is what Push made: the manifest's digest, the reference that pins
// it, and each layer's sha256 (hex) by title.
type Pushed struct {
	Manifest string // sha256:...
	Ref      string // host/repo@sha256:...
	SHA256   map[string]string
}

// Push pushes layers as a one-manifest OCI artifact (as oras push does:
// empty config, artifactType, titled layers) into repo, tagged tag if
// not "", as user (name, password; "" for none).
func (r *Registry) Push(ctx context.Context, repo, tag, user, pass string, layers ...Layer) (Pushed, error) {
	rp, err := remote.NewRepository(r.Host + "/" + repo)
	if err != nil {
		return Pushed{}, err
	}
	rp.PlainHTTP = r.CA == nil
	rp.Client = &auth.Client{Client: r.Client(), Cache: auth.NewCache(),
		Credential: auth.StaticCredential(r.Host, auth.Credential{Username: user, Password: pass})}
	out := Pushed{SHA256: map[string]string{}}
	var descs []ocispec.Descriptor
	for _, l := range layers {
		d, err := pushBlob(ctx, rp, l)
		if err != nil {
			return Pushed{}, err
		}
		descs = append(descs, d)
		out.SHA256[l.Title] = d.Digest.Encoded()
	}
	m, err := oras.PackManifest(ctx, rp, oras.PackManifestVersion1_1, "application/vnd.reconciler.release",
		oras.PackManifestOptions{Layers: descs})
	if err != nil {
		return Pushed{}, fmt.Errorf("push manifest: %w", err)
	}
	if tag != "" {
		if err := rp.Tag(ctx, m, tag); err != nil {
			return Pushed{}, fmt.Errorf("tag %s: %w", tag, err)
		}
	}
	out.Manifest = m.Digest.String()
	out.Ref = r.Host + "/" + repo + "@" + out.Manifest
	return out, nil
}

func pushBlob(ctx context.Context, rp *remote.Repository, l Layer) (ocispec.Descriptor, error) {
	sum, size, err := artifacts.HashFile(l.Path)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.NewDigestFromEncoded(digest.SHA256, sum),
		Size: size, Annotations: map[string]string{ocispec.AnnotationTitle: l.Title}}
	f, err := os.Open(l.Path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	if err := rp.Push(ctx, d, f); err != nil {
		return d, fmt.Errorf("push %s: %w", l.Title, err)
	}
	return d, nil
}
