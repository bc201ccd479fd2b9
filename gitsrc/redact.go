package gitsrc

import (
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/reconciler-dev/reconciler/internal/redact"
)

func isSCPLike(raw string) bool { return redact.IsSCPLike(raw) }

// secrets returns every credential the URL and the auth method carry, in the
// spellings an error text could show them.
func secrets(raw string, auth transport.AuthMethod) []string {
	out := redact.Secrets(raw)
	switch a := auth.(type) {
	case *githttp.BasicAuth:
		out = append(out, redact.Spellings(a.Password)...)
	case *githttp.TokenAuth:
		out = append(out, redact.Spellings(a.Token)...)
	}
	return out
}

// redactText replaces every credential of the Source in text.
func (s *Source) redactText(text string) string {
	return redact.Text(replaceURL(text, s.url, s.logURL), s.secrets)
}

// containsSecret reports whether text shows a credential of the Source.
func (s *Source) containsSecret(text string) bool { return redact.Contains(text, s.secrets) }

func replaceURL(text, url, logURL string) string {
	if url == "" {
		return text
	}
	return strings.ReplaceAll(text, url, logURL)
}
