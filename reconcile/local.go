package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// errBadLocalConf marks a release/current.conf that the watcher must refuse:
// unparsable, or pointing outside release/ or at missing files.
var errBadLocalConf = errclass.New(errclass.NeedsPerson, "invalid")

// LocalConf is release/current.conf: the seed's keys, absolute paths, plus
// the version and the deploy repo revision it came from.
type LocalConf struct {
	BinFile  string `json:"bin.file"`
	CfgFile  string `json:"cfg.file,omitempty"`
	Version  string `json:"version,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// localConfFor is the current.conf that applies version v at revision rev.
func (l Layout) localConfFor(d Desired, rev string) LocalConf {
	c := LocalConf{BinFile: l.BinFile(d.Version), Version: d.Version, Revision: rev}
	if d.Cfg != nil {
		c.CfgFile = l.cfgFile(d.Version)
	}
	return c
}

// ReadLocalConf reads and checks release/current.conf. A missing file
// returns an error wrapping os.ErrNotExist. The file may be written by hand,
// so it is hostile: both files must be regular files inside release/.
func (l Layout) ReadLocalConf() (LocalConf, error) {
	data, err := os.ReadFile(l.CurrentConf())
	if err != nil {
		return LocalConf{}, err
	}
	return l.parseLocalConf(data)
}

// parseLocalConf parses and checks the content of release/current.conf.
func (l Layout) parseLocalConf(data []byte) (LocalConf, error) {
	var c LocalConf
	fail := func(format string, args ...any) (LocalConf, error) {
		return LocalConf{}, fmt.Errorf("%s: %w: %s", l.CurrentConf(), errBadLocalConf, fmt.Sprintf(format, args...))
	}
	if err := checkDuplicateKeys(data); err != nil {
		return fail("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&c)
	if err != nil {
		return fail("%s", describeJSONError(err, data, &c))
	}
	if c.BinFile == "" {
		return fail(`key "bin.file" is required`)
	}
	if c.BinFile, err = l.checkReleaseFile("bin.file", c.BinFile); err != nil {
		return fail("%v", err)
	}
	if c.CfgFile != "" {
		if c.CfgFile, err = l.checkReleaseFile("cfg.file", c.CfgFile); err != nil {
			return fail("%v", err)
		}
	}
	if c.Version != "" && !versionRE.MatchString(c.Version) {
		return fail(`key "version": %q is not a valid version`, c.Version)
	}
	return c, nil
}

// checkReleaseFile makes sure p names a regular file directly in release/,
// and not a symlink, so a hand edit cannot point the app elsewhere. A relative
// path is taken relative to release/. It returns the absolute, clean path.
func (l Layout) checkReleaseFile(key, p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.Release(), p)
	}
	p = filepath.Clean(p)
	if filepath.Dir(p) != l.Release() {
		return "", fmt.Errorf("key %q: %s is not a file in %s", key, p, l.Release())
	}
	name := filepath.Base(p)
	if name == "current.conf" || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("key %q: %s is not a release file", key, p)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("key %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("key %q: %s is not a regular file (%s)", key, p, fi.Mode().Type())
	}
	return p, nil
}

// Marshal renders the file the way it is written: one JSON object, keys in a
// stable order, a trailing newline.
func (c LocalConf) Marshal() []byte {
	b, _ := json.MarshalIndent(c, "", "  ") // cannot fail: strings only
	return append(b, '\n')
}

// version is c's version, "" for none.
func (c *LocalConf) version() string {
	if c == nil {
		return ""
	}
	return c.Version
}
