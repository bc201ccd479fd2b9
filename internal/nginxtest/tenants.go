package nginxtest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Tenant is one credential of a Tenants host and the repositories it may
// read.
type Tenant struct {
	User, Token string
	Repos       []string // names under the host's root, e.g. "a.git"
}

// Tenants is a git host where each tenant's HTTP basic credentials open
// its own repositories only, as a hosting service's tokens do: another
// tenant's repository answers 404 (hosts do not tell a stranger it
// exists), no credentials 401. It counts the requests that reached it
// per user.
type Tenants struct {
	git     http.Handler
	tenants []Tenant
	mu      sync.Mutex
	hits    map[string]int
	lsRefs  []byte        // the last ls-refs POST's body
	lsHdr   http.Header   // and its headers
	hold    chan struct{} // while not nil, ls-refs POSTs wait for it to close
}

// HoldLsRefs makes ls-refs POSTs that reach the host from now on wait
// (counted already) until release is called, as a slow git host would.
func (h *Tenants) HoldLsRefs() (release func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.hold = ch
	h.mu.Unlock()
	return sync.OnceFunc(func() {
		h.mu.Lock()
		h.hold = nil
		h.mu.Unlock()
		close(ch)
	})
}

// NewTenants serves git (e.g. a gittest.Handler over the repositories'
// root) to these tenants.
func NewTenants(git http.Handler, tenants ...Tenant) *Tenants {
	return &Tenants{git: git, tenants: tenants, hits: map[string]int{}}
}

// Hits is how many requests of user reached the host.
func (h *Tenants) Hits(user string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[user]
}

// LastLsRefs is the body and the headers of the last protocol-v2
// ls-refs POST that reached the host, or nil.
func (h *Tenants) LastLsRefs() ([]byte, http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lsRefs, h.lsHdr
}

func (h *Tenants) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	user, token, ok := req.BasicAuth()
	var body []byte
	if req.Method == http.MethodPost {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	h.mu.Lock()
	h.hits[user]++
	var hold chan struct{}
	if bytes.HasPrefix(body, []byte("0014command=ls-refs\n")) {
		h.lsRefs, h.lsHdr, hold = body, req.Header.Clone(), h.hold
	}
	h.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	t := h.find(user, token)
	if !ok || t == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="tenants"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	repo, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	for _, r := range t.Repos {
		if r == repo {
			h.git.ServeHTTP(w, req)
			return
		}
	}
	http.NotFound(w, req)
}

func (h *Tenants) find(user, token string) *Tenant {
	for i, t := range h.tenants {
		if t.User == user && t.Token == token {
			return &h.tenants[i]
		}
	}
	return nil
}
