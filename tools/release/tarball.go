package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// writeTarball writes reconciler_VERSION_linux_ARCH.tar.gz: one directory of
// that name with the binary, the units, the man pages, the completions, the
// example configuration and the documents, in a fixed order with fixed
// owners and times.
func (r *release) writeTarball(path, arch, bin string, docs *staged) error {
	top := strings.TrimSuffix(filepath.Base(path), ".tar.gz")
	entries := []file{{Dst: "reconciler", Src: bin, Mode: 0o755}}
	for _, name := range []string{"LICENSE", "README.md", "CHANGELOG.md"} {
		entries = append(entries, file{Dst: name, Src: filepath.Join(r.Src, name), Mode: 0o644})
	}
	for _, f := range docs.Files {
		if f.Kind == debOnl || f.Kind == rpmOnl {
			continue
		}
		// The package's paths, under the top directory: etc/reconciler/…,
		// usr/lib/systemd/system/…, usr/share/man/man1/…
		entries = append(entries, file{Dst: strings.TrimPrefix(f.Dst, "/"), Src: f.Src, Mode: f.Mode})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Dst < entries[j].Dst })
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression) // no name, no time in the header
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if err := r.addToTar(tw, top+"/"+e.Dst, e); err != nil {
			out.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		out.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (r *release) addToTar(tw *tar.Writer, name string, e file) error {
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := &tar.Header{
		Name: name, Mode: int64(e.Mode), Size: st.Size(), ModTime: r.epoch,
		Uname: "root", Gname: "root", Typeflag: tar.TypeReg, Format: tar.FormatPAX,
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// writeSums writes SHA256SUMS in out for files (sha256sum's format, names
// relative to out) and returns its path.
func writeSums(out string, paths []string) (string, error) {
	var b strings.Builder
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), filepath.Base(p))
	}
	sums := filepath.Join(out, "SHA256SUMS")
	return sums, os.WriteFile(sums, []byte(b.String()), 0o644)
}
