package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

// downloadRows compares a verified, fsynced artifact download with curl -o
// followed by sha256sum, from a local HTTP server.
func downloadRows(t *table, work string, o options) error {
	src := filepath.Join(work, "artifact.bin")
	sum, err := writeRandom(src, int64(o.artifactMiB)<<20)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, src) })}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/artifact.bin"

	var ours, curl []sample
	for i := 0; i < o.runs; i++ {
		dir, _ := os.MkdirTemp(work, "dl-")
		s, err := runChild("download", url, sum, dir)
		if err != nil {
			return err
		}
		ours = append(ours, s)
		// The same work by hand: download, fsync, then verify.
		c, err := runProc(dir, "sh", "-c", fmt.Sprintf("curl -sSf -o out %s && sync out && echo '%s  out' | sha256sum -c --quiet", url, sum))
		if err != nil {
			return err
		}
		curl = append(curl, c)
		os.RemoveAll(dir)
	}
	mib := float64(o.artifactMiB)
	thr := func(s []sample) stat {
		var xs []float64
		for _, x := range s {
			xs = append(xs, mib/x.wall.Seconds())
		}
		return summarize(xs)
	}
	to, tc := thr(ours), thr(curl)
	what := fmt.Sprintf("download %d MiB, sha256-verified and fsynced", o.artifactMiB)
	t.add(what+", throughput", to.String("MiB/s"), tc.String("MiB/s"), "curl -o && sync && sha256sum -c", to.med/tc.med)
	ro, rc := rssMiB(ours), rssMiB(curl)
	t.add(what+", peak RSS", ro.String("MiB"), rc.String("MiB"), "curl -o && sync && sha256sum -c", ro.med/rc.med)
	return nil
}

func writeRandom(path string, n int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}
