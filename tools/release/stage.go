package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// file is one file of a package: its path there, where its bytes are
// staged, its mode, and its kind.
type file struct {
	Dst  string // absolute path in the package
	Src  string // the staged file
	Mode os.FileMode
	Kind kind
}

type kind int

const (
	plain  kind = iota
	conf        // a conffile: never overwritten when changed
	debOnl      // only in the .deb (Debian's changelog)
	rpmOnl      // only in the .rpm
)

// staged is what every architecture's packages share: everything but the
// binary.
type staged struct {
	Files []file
	Dirs  []string // empty directories the package owns
}

// stageDocs writes the man pages, completions, units, the example
// configuration and the documents into the work directory, using host (a
// binary this machine runs) for the pages and completions.
func (r *release) stageDocs(ctx context.Context, host string) (*staged, error) {
	s := &staged{Dirs: []string{"/etc/reconciler/apps.d"}}
	if err := r.stageMan(ctx, host, s); err != nil {
		return nil, err
	}
	if err := r.stageCompletions(ctx, host, s); err != nil {
		return nil, err
	}
	for _, u := range []string{"reconciler-apps.service", "reconciler@.service"} {
		s.Files = append(s.Files, file{Dst: "/usr/lib/systemd/system/" + u, Src: filepath.Join(r.Src, "packaging", "systemd", u), Mode: 0o644})
	}
	if err := r.stageTexts(s); err != nil {
		return nil, err
	}
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Dst < s.Files[j].Dst })
	return s, nil
}

func (r *release) stageMan(ctx context.Context, host string, s *staged) error {
	dir := filepath.Join(r.work, "man")
	cmd := exec.CommandContext(ctx, host, "man", dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", r.epoch.Unix()))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("reconciler man: %w: %s", err, out)
	}
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil || len(pages) == 0 {
		return fmt.Errorf("reconciler man wrote no page into %s", dir)
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		gz := p + ".gz"
		if err := writeGzip(gz, b); err != nil {
			return err
		}
		s.Files = append(s.Files, file{Dst: "/usr/share/man/man1/" + filepath.Base(gz), Src: gz, Mode: 0o644})
	}
	return nil
}

// completions: the shell, and where its completions for reconciler go.
var completions = []struct{ shell, dst string }{
	{"bash", "/usr/share/bash-completion/completions/reconciler"},
	{"zsh", "/usr/share/zsh/vendor-completions/_reconciler"},
	{"fish", "/usr/share/fish/vendor_completions.d/reconciler.fish"},
}

func (r *release) stageCompletions(ctx context.Context, host string, s *staged) error {
	for _, c := range completions {
		out, err := exec.CommandContext(ctx, host, "completion", c.shell).Output()
		if err != nil {
			return fmt.Errorf("reconciler completion %s: %w", c.shell, err)
		}
		src := filepath.Join(r.work, "completion."+c.shell)
		if err := os.WriteFile(src, out, 0o644); err != nil {
			return err
		}
		s.Files = append(s.Files, file{Dst: c.dst, Src: src, Mode: 0o644})
	}
	return nil
}

// stageTexts writes the example configuration, the copyright and the
// changelogs.
func (r *release) stageTexts(s *staged) error {
	example, err := exampleEnv(filepath.Join(r.Src, "docs", "systemd", "web.env"))
	if err != nil {
		return err
	}
	license, err := os.ReadFile(filepath.Join(r.Src, "LICENSE"))
	if err != nil {
		return fmt.Errorf("the license: %w", err)
	}
	texts := []struct {
		dst  string
		body []byte
		kind kind
		gz   bool
	}{
		{"/etc/reconciler/example.env", example, conf, false},
		{"/usr/share/doc/reconciler/copyright", []byte(copyrightText(r.epoch.Year())), debOnl, false},
		{"/usr/share/doc/reconciler/changelog.Debian.gz", []byte(debianChangelog(r.Version, r.Release, r.epoch)), debOnl, true},
		{"/usr/share/licenses/reconciler/LICENSE", license, rpmOnl, false},
		{"/usr/share/lintian/overrides/reconciler", []byte(lintianOverrides), debOnl, false},
	}
	for i, t := range texts {
		src := filepath.Join(r.work, fmt.Sprintf("text%d", i))
		if t.gz {
			err = writeGzip(src, t.body)
		} else {
			err = os.WriteFile(src, t.body, 0o644)
		}
		if err != nil {
			return err
		}
		s.Files = append(s.Files, file{Dst: t.dst, Src: src, Mode: 0o644, Kind: t.kind})
	}
	return nil
}

// exampleEnv is docs/systemd/web.env with every setting commented out: an
// example that does nothing until a person copies and enables it.
func exampleEnv(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the example configuration: %w", err)
	}
	var out bytes.Buffer
	out.WriteString("# An example: nothing reads this file. Copy it to /etc/reconciler/NAME.env\n" +
		"# (reconciler@NAME.service) or /etc/reconciler/apps.d/NAME.env\n" +
		"# (reconciler-apps.service), uncomment and edit; see reconciler-run(1).\n")
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			line = "#" + line
		}
		out.WriteString(line + "\n")
	}
	return out.Bytes(), nil
}

// writeGzip writes b gzipped at the best compression, with neither a name
// nor a time in the header (reproducible, as `gzip -9n`).
func writeGzip(path string, b []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
