package main

import (
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"strings"
	"sync/atomic"
)

// gitServer serves bare repos under root over git smart HTTP (git
// http-backend behind net/http/cgi) on 127.0.0.1 and counts requests by kind.
type gitServer struct {
	URL         string
	refListings atomic.Int64 // GET info/refs
	uploadPacks atomic.Int64 // POST git-upload-pack: object transfer
	srv         *http.Server
}

func startGitServer(root string) (*gitServer, error) {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, err
	}
	backend := &cgi.Handler{
		Path: strings.TrimSpace(string(execPath)) + "/git-http-backend",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s := &gitServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			s.refListings.Add(1)
		case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			s.uploadPacks.Add(1)
		}
		backend.ServeHTTP(w, r)
	})}
	go s.srv.Serve(ln)
	s.URL = "http://" + ln.Addr().String()
	return s, nil
}

func (s *gitServer) Close() { s.srv.Close() }
