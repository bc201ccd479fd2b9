package main

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"

	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// scripts are the maintainer scripts, deb/ and rpm/.
//
//go:embed scripts
var scripts embed.FS

// writePackage writes the .deb or .rpm (format) of arch to path.
func (r *release) writePackage(format, path, arch, bin string, docs *staged) error {
	info, err := r.packageInfo(format, arch, bin, docs)
	if err != nil {
		return err
	}
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return err
	}
	p, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := p.Package(info, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (r *release) packageInfo(format, arch, bin string, docs *staged) (*nfpm.Info, error) {
	info := &nfpm.Info{
		Name: "reconciler", Arch: arch, Platform: "linux",
		Version: r.Version, Release: r.Release,
		Section: "admin", Priority: "optional",
		Maintainer: maintainer, Vendor: "reconciler", Homepage: homepage,
		License: "Apache-2.0", Description: description,
		MTime: r.epoch,
	}
	info.Contents = r.contents(format, bin, docs)
	sc, err := r.stageScripts(format)
	if err != nil {
		return nil, err
	}
	info.Scripts = sc
	info.RPM.Group = "System Environment/Daemons"
	info.RPM.Summary = "GitOps pull-based deploy agent for plain Linux binaries"
	info.RPM.BuildHost = "reconciler-release" // not the building machine's name: reproducible
	info.RPM.Compression = "gzip"
	info.Deb.Compression = "gzip"
	return nfpm.WithDefaults(info), nil
}

func (r *release) contents(format, bin string, docs *staged) files.Contents {
	fi := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: r.epoch}
	}
	c := files.Contents{{Source: bin, Destination: "/usr/bin/reconciler", FileInfo: fi(0o755)}}
	for _, f := range docs.Files {
		if (f.Kind == debOnl && format != "deb") || (f.Kind == rpmOnl && format != "rpm") {
			continue
		}
		typ := ""
		if f.Kind == conf {
			typ = files.TypeConfigNoReplace
		}
		c = append(c, &files.Content{Source: f.Src, Destination: f.Dst, Type: typ, FileInfo: fi(f.Mode)})
	}
	for _, d := range docs.Dirs {
		c = append(c, &files.Content{Destination: d, Type: files.TypeDir, FileInfo: fi(0o755)})
	}
	return c
}

// stageScripts copies the format's maintainer scripts out of the binary,
// for nfpm reads them from files.
func (r *release) stageScripts(format string) (nfpm.Scripts, error) {
	dir := filepath.Join(r.work, "scripts", format)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nfpm.Scripts{}, err
	}
	var sc nfpm.Scripts
	for name, dst := range map[string]*string{
		"postinst": &sc.PostInstall, "prerm": &sc.PreRemove, "postrm": &sc.PostRemove,
	} {
		b, err := scripts.ReadFile("scripts/" + format + "/" + name)
		if err != nil {
			return nfpm.Scripts{}, fmt.Errorf("maintainer script %s/%s: %w", format, name, err)
		}
		*dst = filepath.Join(dir, name)
		if err := os.WriteFile(*dst, b, 0o755); err != nil {
			return nfpm.Scripts{}, err
		}
	}
	return sc, nil
}
