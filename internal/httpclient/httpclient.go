package httpclient

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// IdleTimeout closes a kept-alive connection unused this long.
const IdleTimeout = 90 * time.Second

// Transport is a new transport: the environment's proxy (HTTPS_PROXY,
// NO_PROXY), a dial and a TLS handshake each within step, TCP keep-alive,
// HTTP/2 when the server offers it, tlsConf for extra CAs (cloned, so the
// caller's stays its own; nil: the system's roots), and idle connections
// closed after IdleTimeout.
func Transport(tlsConf *tls.Config, step time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: step, KeepAlive: 30 * time.Second}
	if tlsConf != nil {
		tlsConf = tlsConf.Clone()
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         d.DialContext,
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: step,
		IdleConnTimeout:     IdleTimeout,
	}
}
