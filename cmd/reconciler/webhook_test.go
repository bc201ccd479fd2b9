package main

import (
	"bytes"
	"testing"
)

func TestVerifySignature(t *testing.T) {
	secret, body := []byte("k"), []byte(`{"ref":"refs/heads/main"}`)
	good := sign(secret, body)
	tests := []struct {
		header string
		want   error
	}{
		{good, nil},
		{"", errNoSignature},
		{"sha1=" + good[7:], errBadSignature},
		{"sha256=zz", errBadSignature},
		{sign([]byte("other"), body), errBadSignature},
		{good[:len(good)-2], errBadSignature},
	}
	for _, tt := range tests {
		if got := verifySignature(secret, body, tt.header); got != tt.want {
			t.Errorf("header %q: got %v, want %v", tt.header, got, tt.want)
		}
	}
}

// FuzzVerifySignature: only the exact HMAC of the exact body passes.
func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte("secret"), []byte(`{"ref":"refs/heads/main"}`), "sha256=00")
	f.Add([]byte("k"), []byte(""), "")
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		if len(secret) == 0 {
			return
		}
		if err := verifySignature(secret, body, sign(secret, body)); err != nil {
			t.Fatalf("the right signature was refused: %v", err)
		}
		if header != sign(secret, body) && !bytes.EqualFold([]byte(header), []byte(sign(secret, body))) {
			if verifySignature(secret, body, header) == nil {
				t.Fatalf("header %q accepted for a body it does not sign", header)
			}
		}
	})
}
