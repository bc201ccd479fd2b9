package agenthost

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// MaxWebhookBody bounds what POST /reconcile reads (GitHub sends < 25 MiB;
// the signature covers the whole body, so it must be read).
const MaxWebhookBody = 25 << 20

// Webhook signature errors.
var (
	ErrNoSignature  = errors.New("missing X-Hub-Signature-256")
	ErrBadSignature = errors.New("X-Hub-Signature-256 does not match")
)

// webhookAllowed reads the body of POST /reconcile and, with a secret,
// checks its signature. When it refuses the request it has answered it.
func webhookAllowed(w http.ResponseWriter, r *http.Request, secret []byte, log *slog.Logger) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return false
	}
	if secret != nil {
		if err := VerifySignature(secret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
			log.Warn("webhook refused", "remote", r.RemoteAddr, "err", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return false
		}
	}
	return true
}

// VerifySignature checks a GitHub-style "sha256=<hex HMAC of the body>",
// in constant time: nil, ErrNoSignature or ErrBadSignature.
func VerifySignature(secret, body []byte, header string) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		if header == "" {
			return ErrNoSignature
		}
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}
