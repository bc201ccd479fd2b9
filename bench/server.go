package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// startGitServer serves the bare repos under root over git smart HTTP on
// 127.0.0.1: gittest's server, the one the tests use, counting requests by
// kind.
func startGitServer(root string) (*gittest.HTTPServer, error) {
	return gittest.NewServer(root)
}

// serveGitChild is the -child git-server process: gittest's handler plus
// GET /_stats, which prints the ref listings and the object transfers so
// far. A v2 capability advertisement (GET info/refs) counts as a listing
// here, as a v0 one does: both are a request of the poll before its objects.
// With push, it accepts pushes too (the rollout rows' promoter pushes).
func serveGitChild(ctx context.Context, root string, push bool) error {
	var opts []gittest.ServeOption
	if push {
		opts = append(opts, gittest.AllowPush())
	}
	h, err := gittest.NewHandler(root, opts...)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/_stats", func(w http.ResponseWriter, _ *http.Request) {
		st := h.Stats()
		fmt.Fprintf(w, "%d %d\n", st.RefListings+st.Adverts, st.UploadPacks)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Println("http://" + ln.Addr().String())
	<-ctx.Done()
	return srv.Close()
}

// remoteGitServer is a git server in a process of its own (bench -child
// git-server ROOT [push]), so its CPU, CGI children included, can be read
// from /proc without counting the clients.
type remoteGitServer struct {
	URL string
	cmd *exec.Cmd
}

func startRemoteGitServer(root string, push bool) (*remoteGitServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-child", "git-server", root}
	if push {
		args = append(args, "push")
	}
	cmd := exec.Command(self, args...)
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
