package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// bumpRows measures reconciler bump (the real binary, a process of its
// own) against what a CI job otherwise runs, `git clone --depth 1 && edit
// && git commit && git push`, on a deploy repo of -bump-commits commits
// and as many tags, served over smart HTTP (protocol v2 for both) on
// 127.0.0.1: wall time, and bytes on the wire both ways (the server's
// connections, HTTP headers included). Each run bumps a new version, so
// every run pushes one commit. Ours runs with its default --history (32
// commits read for the immutability check) and with --history 1.
func bumpRows(t *table, work string, o options) error {
	root := filepath.Join(work, "bump")
	bare := filepath.Join(root, "deploy.git")
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	desired := fmt.Sprintf("{\n  \"version\": \"1.0\",\n  \"bin\": {\"url\": \"https://artifacts.example.com/web/1.0/web\", \"sha256\": %q}\n}\n", sum)
	if err := makeRepo(bare, o.bumpCommits, 0, []byte(desired)); err != nil {
		return err
	}
	if err := addTags(bare, o.bumpCommits); err != nil {
		return err
	}
	srv, err := gittest.NewServer(root, gittest.AllowPush())
	if err != nil {
		return err
	}
	defer srv.Close()
	url := srv.URL + "/deploy.git"
	bin := filepath.Join(work, "reconciler-bump")
	if err := buildBinary(bin, "./cmd/reconciler", ""); err != nil {
		return err
	}
	version := 1
	bump := func(history string) func(dir string) (sample, error) {
		return func(dir string) (sample, error) {
			version++
			v := fmt.Sprintf("1.%d", version)
			return runProc(dir, bin, "bump", "--repo", url, "--path", "web/current.conf", "--version", v,
				"--bin-url", "https://artifacts.example.com/web/"+v+"/web", "--bin-sha256", sum, "--history", history)
		}
	}
	sides := []struct {
		name string
		run  func(dir string) (sample, error)
	}{
		{"reconciler bump", bump("32")},
		{"reconciler bump --history 1", bump("1")},
		{"git clone --depth 1 && edit && git commit && git push", func(dir string) (sample, error) {
			version++
			return gitBump(dir, url, fmt.Sprintf("1.%d", version))
		}},
	}
	walls, bytes := make([][]float64, len(sides)), make([][]float64, len(sides))
	for r := 0; r < o.runs; r++ {
		for i, s := range sides {
			dir, _ := os.MkdirTemp(work, "bump-")
			before := srv.Stats()
			smp, err := s.run(dir)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			after := srv.Stats()
			walls[i] = append(walls[i], ms(smp.wall))
			bytes[i] = append(bytes[i], float64(after.BytesIn+after.BytesOut-before.BytesIn-before.BytesOut))
			os.RemoveAll(dir)
		}
	}
	readWall, readBytes, err := readRows(srv, work, o, []func(dir string) (sample, error){
		func(dir string) (sample, error) {
			return runProc(dir, bin, "bump", "--repo", url, "--path", "web/current.conf", "--version", "9.0",
				"--bin-url", "https://artifacts.example.com/web/9.0/web", "--bin-sha256", sum, "--dry-run")
		},
		func(dir string) (sample, error) {
			return runProc(dir, "git", "clone", "-q", "--depth", "1", "--single-branch", "--no-tags", url, "clone")
		},
	})
	if err != nil {
		return err
	}
	label := fmt.Sprintf("bump, %d commits and %d tags", o.bumpCommits, o.bumpCommits)
	t.add(label+": the read alone, wall (reconciler bump --dry-run)", readWall[0].String("ms"), readWall[1].String("ms"), "git clone --depth 1", readWall[0].med/readWall[1].med)
	t.add(label+": the read alone, bytes on the wire (reconciler bump --dry-run)", readBytes[0].String("B"), readBytes[1].String("B"), "git clone --depth 1", readBytes[0].med/readBytes[1].med)
	git := len(sides) - 1
	gw, gb := summarize(walls[git]), summarize(bytes[git])
	for i := 0; i < git; i++ {
		w, b := summarize(walls[i]), summarize(bytes[i])
		t.add(label+": wall ("+sides[i].name+")", w.String("ms"), gw.String("ms"), sides[git].name, w.med/gw.med)
		t.add(label+": bytes on the wire, both ways ("+sides[i].name+")", b.String("B"), gb.String("B"), sides[git].name, b.med/gb.med)
	}
	return nil
}

var versionRE = regexp.MustCompile(`"version": "[^"]*"`)

// gitBump is the CI job without bump: a depth-1 clone, the edit (as sed
// would make it), a commit and a push; its samples added up.
func gitBump(dir, url, version string) (sample, error) {
	var total sample
	add := func(s sample, err error) error {
		total.wall += s.wall
		total.cpu += s.cpu
		total.rssKiB = max(total.rssKiB, s.rssKiB)
		return err
	}
	if err := add(runProc(dir, "git", "clone", "-q", "--depth", "1", "--single-branch", "--no-tags", url, "clone")); err != nil {
		return total, err
	}
	clone := filepath.Join(dir, "clone")
	file := filepath.Join(clone, "web", "current.conf")
	data, err := os.ReadFile(file)
	if err != nil {
		return total, err
	}
	edited := versionRE.ReplaceAll(data, []byte(`"version": "`+version+`"`))
	if err := os.WriteFile(file, edited, 0o644); err != nil {
		return total, err
	}
	if err := add(runProc(clone, "git", "-c", "user.name=CI", "-c", "user.email=ci@example.invalid", "commit", "-q", "-am", "web "+version)); err != nil {
		return total, err
	}
	return total, add(runProc(clone, "git", "push", "-q", "origin", "HEAD:main"))
}

// readRows measures each side's wall and bytes on the wire, o.runs times.
func readRows(srv *gittest.HTTPServer, work string, o options, sides []func(dir string) (sample, error)) (walls, bytes []stat, err error) {
	w, b := make([][]float64, len(sides)), make([][]float64, len(sides))
	for r := 0; r < o.runs; r++ {
		for i, side := range sides {
			dir, _ := os.MkdirTemp(work, "read-")
			before := srv.Stats()
			smp, err := side(dir)
			os.RemoveAll(dir)
			if err != nil {
				return nil, nil, err
			}
			after := srv.Stats()
			w[i] = append(w[i], ms(smp.wall))
			b[i] = append(b[i], float64(after.BytesIn+after.BytesOut-before.BytesIn-before.BytesOut))
		}
	}
	for i := range sides {
		walls, bytes = append(walls, summarize(w[i])), append(bytes, summarize(b[i]))
	}
	return walls, bytes, nil
}
