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

	// The same work by hand: download, fsync, then verify.
	return compareDownload(t, work, o, fmt.Sprintf("download %d MiB, sha256-verified and fsynced", o.artifactMiB), sum,
		"curl -sSf -o out "+url, "curl -o && sync && sha256sum -c", "download", url, sum, "DIR")
}

// compareDownload runs our child (args, with "DIR" replaced by a fresh
// directory) and the shell's curl (then sync and sha256sum -c of out)
// o.runs times each, and adds the throughput and peak RSS rows named
// what, the shell's way named altName. Every download row is made here.
func compareDownload(t *table, work string, o options, what, sum, curl, altName string, args ...string) error {
	var ours, theirs []sample
	for i := 0; i < o.runs; i++ {
		dir, _ := os.MkdirTemp(work, "dl-")
		a := append([]string(nil), args...)
		for j := range a {
			if a[j] == "DIR" {
				a[j] = dir
			}
		}
		s, err := runChild(a...)
		if err != nil {
			return err
		}
		ours = append(ours, s)
		c, err := runProc(dir, "sh", "-c", fmt.Sprintf("%s && sync out && echo '%s  out' | sha256sum -c --quiet", curl, sum))
		if err != nil {
			return err
		}
		theirs = append(theirs, c)
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
	to, tc := thr(ours), thr(theirs)
	t.add(what+", throughput", to.String("MiB/s"), tc.String("MiB/s"), altName, to.med/tc.med)
	ro, rc := rssMiB(ours), rssMiB(theirs)
	t.add(what+", peak RSS", ro.String("MiB"), rc.String("MiB"), altName, ro.med/rc.med)
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
