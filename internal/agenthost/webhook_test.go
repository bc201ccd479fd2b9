package agenthost

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// sign is the X-Hub-Signature-256 header GitHub sends for body.
func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	secret, body := []byte("k"), []byte(`{"ref":"refs/heads/main"}`)
	good := sign(secret, body)
	tests := []struct {
		header string
		want   error
	}{
		{good, nil},
		{"", ErrNoSignature},
		{"sha1=" + good[7:], ErrBadSignature},
		{"sha256=zz", ErrBadSignature},
		{sign([]byte("other"), body), ErrBadSignature},
		{good[:len(good)-2], ErrBadSignature},
	}
	for _, tt := range tests {
		if got := VerifySignature(secret, body, tt.header); got != tt.want {
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
		if err := VerifySignature(secret, body, sign(secret, body)); err != nil {
			t.Fatalf("the right signature was refused: %v", err)
		}
		if header != sign(secret, body) && !bytes.EqualFold([]byte(header), []byte(sign(secret, body))) {
			if VerifySignature(secret, body, header) == nil {
				t.Fatalf("header %q accepted for a body it does not sign", header)
			}
		}
	})
}
