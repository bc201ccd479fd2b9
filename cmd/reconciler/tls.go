package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// loadCA reads --ca-file: PEM certificates added to the system roots for
// HTTPS artifacts and an https deploy repo. The bytes go to go-git, the
// pool to the artifact client.
func loadCA(file string) ([]byte, *tls.Config, error) {
	if file == "" {
		return nil, nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, &usageError{msg: fmt.Sprintf("--ca-file: %v", err)}
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, &usageError{msg: fmt.Sprintf("--ca-file %s: certificate %d: %v", file, n+1, err)}
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, nil, &usageError{msg: fmt.Sprintf("--ca-file %s: no PEM certificate in it", file)}
	}
	return data, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
