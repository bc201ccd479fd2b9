package httpclient

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTransport(t *testing.T) {
	conf := &tls.Config{ServerName: "example"}
	tr := Transport(conf, 7*time.Second)
	if tr.TLSClientConfig == conf || tr.TLSClientConfig.ServerName != "example" {
		t.Error("the TLS config is not a clone of the caller's")
	}
	if tr.TLSHandshakeTimeout != 7*time.Second || tr.IdleConnTimeout != IdleTimeout || tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
		t.Errorf("got %+v, want step timeouts, the idle timeout, the environment's proxy and HTTP/2", tr)
	}
	if Transport(nil, time.Second).TLSClientConfig != nil {
		t.Error("nil TLS config: want the system's roots (nil)")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}
