package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/exitcode"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// runCLI runs the command in-process and returns stdout, stderr and the
// exit code main would return.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := exitcode.Print("reconciler", err, &stderr)
	return stdout.String(), stderr.String(), code
}

// artServer is a real HTTP artifact store that can misbehave per path.
type artServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	fault map[string]string // path -> "404", "500", "truncate", "corrupt", "stall"
	hits  map[string]int
	stall chan struct{} // closed to release stalled responses
}

func newArtServer(t *testing.T) *artServer {
	s := &artServer{files: map[string][]byte{}, fault: map[string]string{}, hits: map[string]int{}, stall: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.release()
		s.Server.Close()
	})
	return s
}

func (s *artServer) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stall:
	default:
		close(s.stall)
	}
}

func (s *artServer) put(path string, data []byte) (url, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
	return s.URL + path, sha(data)
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *artServer) setFault(path, fault string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault[path] = fault
}

func (s *artServer) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *artServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.URL.Path]
	fault := s.fault[r.URL.Path]
	s.hits[r.URL.Path]++
	stall := s.stall
	s.mu.Unlock()
	if !ok || fault == "404" {
		http.NotFound(w, r)
		return
	}
	switch fault {
	case "500":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "corrupt":
		bad := bytes.Clone(data)
		bad[len(bad)/2] ^= 0xff
		w.Write(bad)
	case "truncate", "stall":
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		if fault == "stall" {
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		}
		// Returning with fewer bytes than announced closes the connection.
	default:
		w.Write(data)
	}
}

// deployRepo is a deploy repo with artifacts on an artServer.
type deployRepo struct {
	*gittest.Repo
	art *artServer
}

func newDeployRepo(t *testing.T) *deployRepo {
	return &deployRepo{Repo: gittest.NewRepo(t), art: newArtServer(t)}
}

// binary returns the bytes of a fake release binary of version v.
func binary(v string) []byte {
	return []byte("#!/bin/sh\necho web " + v + "\n" + strings.Repeat("x", 64<<10))
}

// release publishes version v (binary on the artifact server, config in the
// repo) and commits a desired file pointing at it.
func (d *deployRepo) release(v string) string {
	url, digest := d.art.put("/web-"+v, binary(v))
	d.WriteFile("web/cfg-"+v+".json", []byte(fmt.Sprintf("{\n  \"listen\": \"127.0.0.1:8080\",\n  \"version\": %q\n}\n", v)))
	d.WriteFile("web/current.conf", []byte(fmt.Sprintf(
		`{"version": %q, "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "web/cfg-%s.json"}}`, v, url, digest, v)))
	return d.Commit("web " + v)
}

// commitDesired commits a raw desired file.
func (d *deployRepo) commitDesired(content string) string {
	d.WriteFile("web/current.conf", []byte(content))
	return d.Commit("desired")
}

// snapshot lists every entry of dir with its content digest or link target,
// so a test can assert that nothing changed.
func snapshot(t *testing.T, dir string, skip ...string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+target)
		case e.Type().IsRegular():
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			fi, _ := e.Info()
			lines = append(lines, fmt.Sprintf("%s %s %x", rel, fi.Mode(), sum[:6]))
		default:
			lines = append(lines, rel+"/")
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func syncArgs(repo, dir string, extra ...string) []string {
	return append([]string{"sync", "--repo", repo, "--path", "web/current.conf", "--dir", dir,
		"--restart", "none", "--log-format", "json"}, extra...)
}

// syncBuffer is a log sink a child process and a test share.
type syncBuffer = testkit.SyncBuffer
