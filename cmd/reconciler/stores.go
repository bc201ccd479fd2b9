package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/artifacts/oci"
	"github.com/reconciler-dev/reconciler/artifacts/s3"
)

// storeFlags say how to reach the artifact stores: OCI registries and S3.
type storeFlags struct {
	RegistryConfig   string
	RegistryInsecure []string
	S3Endpoint       string
	S3Region         string
	S3Instance       bool
}

func (s *storeFlags) addFlags(fs *pflag.FlagSet) {
	s.addRegistryFlags(fs)
	fs.StringVar(&s.S3Endpoint, "s3-endpoint", "", "URL of an S3-compatible store, addressed path-style (default: AWS S3)")
	fs.StringVar(&s.S3Region, "s3-region", "", "region of the S3 buckets (default: asked of the store)")
	fs.BoolVar(&s.S3Instance, "s3-instance-credentials", false, "also take S3 credentials from the instance metadata service when the environment and the shared credentials file have none")
}

// addRegistryFlags registers how to reach OCI registries: the agents'
// flags, and bump's (which pushes).
func (s *storeFlags) addRegistryFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.RegistryConfig, "registry-config", "", "docker config.json with OCI registry credentials and credential helpers (default: $DOCKER_CONFIG/config.json, then ~/.docker/config.json)")
	fs.StringSliceVar(&s.RegistryInsecure, "registry-insecure", nil, "OCI registry hosts (host or host:port, comma-separated) that may be reached over plain HTTP; loopback always may")
}

// newStores builds the stores of the Fetcher; a bad flag is a usage error
// naming it.
func newStores(c *Config) (map[string]artifacts.Store, error) {
	o, err := newRegistry(c)
	if err != nil {
		return nil, err
	}
	s, err := s3.New(s3.Options{Endpoint: c.Stores.S3Endpoint, Region: c.Stores.S3Region,
		InstanceMetadata: c.Stores.S3Instance, TLS: c.tlsConf})
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--s3-endpoint: %v", err)}
	}
	return map[string]artifacts.Store{artifacts.SchemeOCI: o, artifacts.SchemeS3: s}, nil
}

// newRegistry is the OCI registry client of the agents and of bump.
func newRegistry(c *Config) (*oci.Store, error) {
	o, err := oci.New(oci.Options{Config: c.Stores.RegistryConfig, TLS: c.tlsConf, Insecure: c.Stores.RegistryInsecure})
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--registry-config: %v", err)}
	}
	return o, nil
}
