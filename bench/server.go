package main

import (
	"bufio"
	"fmt"
	"io"
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
	refListings atomic.Int64 // GET info/refs, or a POST of protocol v2's ls-refs
	uploadPacks atomic.Int64 // any other POST git-upload-pack: object transfer
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
			if isLsRefs(r) {
				s.refListings.Add(1)
			} else {
				s.uploadPacks.Add(1)
			}
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

// isLsRefs reports whether a POST to git-upload-pack is protocol v2's
// ls-refs command (a ref listing, not an object transfer): its body starts
// with the pkt-line "command=ls-refs". The body is peeked, not consumed.
// A gzipped body is never an ls-refs one (git gzips only requests too
// large for one buffer).
func isLsRefs(r *http.Request) bool {
	br := bufio.NewReaderSize(r.Body, 64)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	const cmd = "command=ls-refs"
	head, _ := br.Peek(4 + len(cmd)) // after the pkt-line's 4-digit length
	return len(head) == 4+len(cmd) && string(head[4:]) == cmd
}

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

// stats returns ref listings (GET info/refs, ls-refs POSTs) and the other
// upload-pack POSTs (object transfers) so far.
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
