package gitsrc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// netrcEntry is one "machine" (or the "default") entry of a netrc file.
type netrcEntry struct {
	machine  string // "" for default
	login    string
	password string
}

// errNetrcSyntax is wrapped by every parse error; the errors give a line
// number but never a word of the file, which could be a password.
var errNetrcSyntax = errors.New("netrc syntax error")

// parseNetrc parses the netrc format of ftp(1) and curl: whitespace-separated
// tokens, "machine NAME" or "default" starting an entry, then "login",
// "password", "account" (ignored) and "port" (ignored) with a value each. A
// "macdef NAME" skips the lines up to the next empty one. A word starting
// with '#' where a keyword is expected starts a comment to the end of the
// line (a password may start with '#'). Quoted tokens are not supported.
func parseNetrc(data []byte) ([]netrcEntry, error) {
	var (
		entries []netrcEntry
		pending string // a keyword waiting for its value, maybe on a later line
		inMacro bool
	)
	bad := func(line int, why string) error {
		return fmt.Errorf("%w on line %d: %s", errNetrcSyntax, line, why)
	}
	lines := strings.Split(string(data), "\n")
scan:
	for i, line := range lines {
		if inMacro {
			inMacro = strings.TrimSpace(line) != ""
			continue
		}
		for _, word := range strings.Fields(line) {
			if pending != "" {
				if err := setNetrc(&entries, pending, word); err != nil {
					return nil, bad(i+1, err.Error())
				}
				if pending == "macdef" {
					inMacro = true
					pending = ""
					break // the rest of the line belongs to the macro
				}
				pending = ""
				continue
			}
			switch word {
			case "default":
				entries = append(entries, netrcEntry{})
			case "machine", "login", "password", "account", "port", "macdef":
				pending = word
			default:
				if strings.HasPrefix(word, "#") {
					continue scan
				}
				return nil, bad(i+1, "unknown keyword (want machine, default, login, password, account or macdef)")
			}
		}
	}
	if pending != "" {
		return nil, bad(len(lines), fmt.Sprintf("%q without a value at the end of the file", pending))
	}
	return entries, nil
}

// setNetrc applies "keyword value" to the entries.
func setNetrc(entries *[]netrcEntry, keyword, value string) error {
	if keyword == "machine" {
		*entries = append(*entries, netrcEntry{machine: value})
		return nil
	}
	if keyword == "macdef" || keyword == "account" || keyword == "port" {
		return nil
	}
	if len(*entries) == 0 {
		return fmt.Errorf("%q before any \"machine\" or \"default\"", keyword)
	}
	e := &(*entries)[len(*entries)-1]
	switch keyword {
	case "login":
		e.login = value
	case "password":
		e.password = value
	}
	return nil
}

// lookupNetrc returns the entry for a host, given by name and by its URL
// authority (name:port, or just name): the first "machine" entry naming
// either (case-insensitively), else the "default" entry. With a login (the
// URL's user name), only entries for that login or without one are
// considered, as curl does.
func lookupNetrc(entries []netrcEntry, name, authority, login string) (netrcEntry, bool) {
	fits := func(e netrcEntry) bool { return login == "" || e.login == "" || e.login == login }
	for _, e := range entries {
		if e.machine != "" && (strings.EqualFold(e.machine, name) || strings.EqualFold(e.machine, authority)) && fits(e) {
			return e, true
		}
	}
	for _, e := range entries {
		if e.machine == "" && fits(e) {
			return e, true
		}
	}
	return netrcEntry{}, false
}

// netrcPath returns the netrc file to read: file if given, else $NETRC,
// else ~/.netrc. required is false only for ~/.netrc, whose absence is not
// an error.
func netrcPath(file string) (path string, required bool) {
	if file != "" {
		return file, true
	}
	if env := os.Getenv("NETRC"); env != "" {
		return env, true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", false
	}
	return filepath.Join(home, ".netrc"), false
}

// readNetrc reads and parses the netrc file chosen by netrcPath; it returns
// no entries when the file is optional and absent. Errors name the file.
func readNetrc(file string) ([]netrcEntry, error) {
	path, required := netrcPath(file)
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !required:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read netrc file: %w", err) // *PathError names the file
	}
	entries, err := parseNetrc(data)
	if err != nil {
		return nil, fmt.Errorf("netrc file %s: %w", path, err)
	}
	return entries, nil
}
