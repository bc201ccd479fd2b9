package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/artifacts/s3"
	"github.com/reconciler-dev/reconciler/internal/storetest"
)

const benchUser, benchPass = "bench", "bench-pass"

// storeRows compares a download from a real registry (TLS, basic auth)
// and a real s3rver with curl of the same bytes from the same server
// (the blob URL with the credentials; the object URL signed by curl's
// --aws-sigv4), after the plain HTTP rows for reference.
func storeRows(ctx context.Context, t *table, work string, o options) error {
	if o.only == "stores" { // alone, the group shows the plain HTTP rows too
		if err := downloadRows(t, work, o); err != nil {
			return err
		}
	}
	src := filepath.Join(work, "artifact.bin")
	sum, err := writeRandom(src, int64(o.artifactMiB)<<20)
	if err != nil {
		return err
	}
	if err := ociRows(ctx, t, work, src, sum, o); err != nil {
		return err
	}
	return s3Rows(ctx, t, work, src, sum, o)
}

func ociRows(ctx context.Context, t *table, work, src, sum string, o options) error {
	dir, _ := os.MkdirTemp(work, "registry-")
	reg, err := storetest.StartRegistry(ctx, dir, storetest.RegistryOptions{TLS: true, Users: map[string]string{benchUser: benchPass}})
	if err != nil {
		return err
	}
	defer reg.Kill()
	p, err := reg.Push(ctx, "bench/app", "", benchUser, benchPass, storetest.Layer{Title: "app", Path: src})
	if err != nil {
		return err
	}
	config := filepath.Join(dir, "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(benchUser + ":" + benchPass))
	os.WriteFile(config, []byte(`{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`), 0o600)
	ref, _ := artifacts.ParseOCIRef(p.Ref)
	blob := fmt.Sprintf("%s/v2/bench/app/blobs/sha256:%s", reg.URL, sum)
	curl := fmt.Sprintf("curl -sSfL --cacert %s -u %s:%s -o out %s", reg.CA.CAFile, benchUser, benchPass, blob)
	return compareDownload(t, work, o, storeRow(o, "OCI registry (TLS, basic auth)"), sum, curl, "curl -u of the blob URL && sync && sha256sum -c",
		"store-download", artifacts.OCILocator(ref, "app"), sum, "DIR", config, reg.CA.CAFile, "")
}

func s3Rows(ctx context.Context, t *table, work, src, sum string, o options) error {
	dir, _ := os.MkdirTemp(work, "s3rver-")
	srv, err := storetest.StartS3(ctx, dir, "bench")
	if err != nil {
		return err
	}
	defer srv.Kill()
	if err := srv.Put(ctx, "bench", "app", src); err != nil {
		return err
	}
	os.Setenv("AWS_ACCESS_KEY_ID", storetest.S3AccessKey) // the children's credentials
	os.Setenv("AWS_SECRET_ACCESS_KEY", storetest.S3Secret)
	curl := fmt.Sprintf("curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 --user %s:%s -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o out %s/bench/app",
		storetest.S3AccessKey, storetest.S3Secret, srv.Endpoint)
	return compareDownload(t, work, o, storeRow(o, "S3 (s3rver)"), sum, curl, "curl --aws-sigv4 of the object URL && sync && sha256sum -c",
		"store-download", "s3://bench/app", sum, "DIR", "", "", srv.Endpoint)
}

// storeRow names a store's download rows.
func storeRow(o options, store string) string {
	return fmt.Sprintf("download %d MiB from %s, verified and fsynced", o.artifactMiB, store)
}

// storeDownload is the child of the store rows: LOCATOR SHA256 DIR
// REGISTRY-CONFIG CA-FILE S3-ENDPOINT.
func storeDownload(ctx context.Context, args []string) error {
	loc, sum, dir, config, caFile, endpoint := args[0], args[1], args[2], args[3], args[4], args[5]
	stores := map[string]artifacts.Store{}
	if endpoint != "" {
		s, err := s3.New(s3.Options{Endpoint: endpoint})
		if err != nil {
			return err
		}
		stores[artifacts.SchemeS3] = s
	} else {
		ca, err := storetest.LoadCA(caFile)
		if err != nil {
			return err
		}
		s, err := oci.New(oci.Options{Config: config, TLS: ca})
		if err != nil {
			return err
		}
		stores[artifacts.SchemeOCI] = s
	}
	_, err := (&artifacts.Fetcher{Stores: stores}).Fetch(ctx, loc, sum, dir, "app.bench", 0o755)
	return err
}
