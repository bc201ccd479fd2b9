package errclass

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// Class sorts an error the way the agent acts on it.
type Class int

const (
	// Unknown: the error says nothing of its cause. The engine retries
	// the pass on its backoff; a single request is not repeated.
	Unknown Class = iota
	// Transient: a fault of the surroundings (network, a server's 5xx)
	// that fixes itself; the same request may succeed a moment later.
	Transient
	// NeedsPerson: no wait fixes it; the deploy repo, an artifact's
	// publication, the credentials or the host's trust must change.
	NeedsPerson
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case NeedsPerson:
		return "needs_person"
	}
	return "unknown"
}

// Classed is an error that knows its class.
type Classed interface {
	error
	ErrorClass() Class
}

// sentinel is an error value with a class, compared by identity.
type sentinel struct {
	class Class
	text  string
}

func (s *sentinel) Error() string     { return s.text }
func (s *sentinel) ErrorClass() Class { return s.class }

// New returns a sentinel error (compare it with errors.Is) that carries
// class c.
func New(c Class, text string) error { return &sentinel{class: c, text: text} }

// Of returns the class of err: NeedsPerson if any error in its tree says
// so; else Unknown if the caller gave up (context.Canceled); else
// Transient if any error in the tree says so or is a network fault
// ([Network]); else Unknown.
func Of(err error) Class {
	if err == nil {
		return Unknown
	}
	found := Unknown
	walk(err, func(e error) bool {
		if c, ok := e.(Classed); ok {
			found = max(found, c.ErrorClass())
		}
		return found != NeedsPerson
	})
	switch {
	case found == NeedsPerson:
		return NeedsPerson
	case errors.Is(err, context.Canceled):
		return Unknown
	case found == Transient || Network(err):
		return Transient
	}
	return Unknown
}

// walk calls f on err and every error it wraps, depth first, until f
// returns false.
func walk(err error, f func(error) bool) bool {
	if err == nil {
		return true
	}
	if !f(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walk(e, f) {
				return false
			}
		}
	}
	return true
}

// networkErrnos are the system's answers that mean the network or the
// peer failed, not the request: refused, reset or aborted connections, a
// write on a connection the peer closed (EPIPE), a connect or retransmit
// that timed out (ETIMEDOUT), and no route to the host or network.
var networkErrnos = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
	syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.EHOSTDOWN,
	syscall.ENETUNREACH, syscall.ENETDOWN, syscall.ENETRESET,
}

// Network reports whether err is a fault of the network between us and a
// server, by the one list of rules:
//   - a system error of networkErrnos;
//   - io.EOF or io.ErrUnexpectedEOF: the server closed the connection
//     before or while answering (a cut stream);
//   - any DNS error, "no such host" included: the agent cannot tell a typo
//     from a resolver that is not up yet at boot, a split-horizon name
//     whose VPN is down or a negative cache, and a retry costs seconds
//     while the error names the host for a person to see;
//   - any net.Error that timed out (a dial, a read, a deadline).
//
// A *url.Error or *net.OpError is not a network fault by itself: what it
// wraps decides (a TLS certificate refused, a malformed address or an
// unsupported scheme are not faults of the surroundings).
func Network(err error) bool {
	for _, e := range networkErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// HTTPStatus is the class of an HTTP answer's status that no protocol
// gives a meaning of its own: 5xx, 429 Too Many Requests and 408 Request
// Timeout are Transient; anything else is Unknown (what a 401, 403 or 404
// means is the caller's to say: a git repo that is gone needs a person, a
// URL artifact still being published does not).
func HTTPStatus(code int) Class {
	if code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
		return Transient
	}
	return Unknown
}
