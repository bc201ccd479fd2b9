package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
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
	backendPath := strings.TrimSpace(string(execPath)) + "/git-http-backend"
	backend := &cgi.Handler{
		Path: backendPath,
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
		case r.URL.Path == "/_stats":
			fmt.Fprintf(w, "%d %d\n", s.refListings.Load(), s.uploadPacks.Load())
			return
		}
		backend.ServeHTTP(w, r)
	})}
	go s.srv.Serve(ln)
	s.URL = "http://" + ln.Addr().String()
	return s, nil
}

func (s *gitServer) Close() { s.srv.Close() }

// remoteGitServer is a gitServer in a process of its own (bench -child
// git-server ROOT), so its CPU, CGI children included, can be read from
// /proc without counting the clients.
type remoteGitServer struct {
	URL string
	cmd *exec.Cmd
}

func startRemoteGitServer(root string) (*remoteGitServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-child", "git-server", root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("git server child: %w", err)
	}
	return &remoteGitServer{URL: strings.TrimSpace(line), cmd: cmd}, nil
}

// stats returns ref listings and upload-packs so far.
func (s *remoteGitServer) stats() (listings, uploads int64) {
	resp, err := http.Get(s.URL + "/_stats")
	if err != nil {
		return -1, -1
	}
	defer resp.Body.Close()
	fmt.Fscan(resp.Body, &listings, &uploads)
	return listings, uploads
}

// cpu is the server's CPU so far: its own and its reaped CGI children's,
// from /proc/PID/stat (utime, stime, cutime, cstime).
func (s *remoteGitServer) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+1:])
	var total int64
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		total += v
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}

func (s *remoteGitServer) Close() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}
