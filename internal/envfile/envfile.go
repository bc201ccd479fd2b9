// Package envfile reads the environment files that systemd's
// EnvironmentFile= reads (systemd.exec(5)), so that a file written for a
// `reconciler@NAME` unit serves `reconciler run --apps-dir` as it is.
//
// It implements what systemd documents, and refuses with an error naming
// the file and the line what systemd documents nothing about or would
// read in a way nobody means:
//
//   - NAME=VALUE assignments, one a line. Empty lines and lines whose
//     first character other than white space is '#' or ';' are comments.
//     There is no comment after a value: FOO=bar # x is "bar # x".
//   - NAME: ASCII letters, digits and '_', not starting with a digit; white
//     space around it is dropped. "export NAME=..." is refused (systemd
//     has no export).
//   - An unquoted value: leading and trailing space, tab and carriage
//     return are dropped, interior white space kept; a backslash keeps the
//     next character ("\\" is "\") and a backslash at the end of a line
//     continues the value on the next line (the newline dropped); quotes
//     after the first character are kept as they are.
//   - A value in single quotes: verbatim, newlines included, up to the next
//     single quote; no escapes.
//   - A value in double quotes: may span lines; a backslash keeps the next
//     character when it is one of "\`$, continues the line before a
//     newline, and is kept with any other character. $ expands nothing.
//   - The file is UTF-8 without NUL, U+FEFF (byte order mark) or Unicode
//     noncharacters; other control characters are allowed.
//
// Refused, where systemd skips or joins silently: a line without '=' (a
// typo such as "RECONCILER_REPO https://..."), anything but white space
// after a closing quote (systemd would join 'a' b into "ab"), an
// unterminated quote, an invalid name. A name given twice is returned
// twice, in order: the later one wins, as in systemd.
package envfile

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Var is one assignment of an environment file.
type Var struct {
	Name  string
	Value string
	Line  int // where the name is, from 1
}

// Error is a refused file: the file, the line (from 1) and why.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads data, the content of the environment file named file (for
// errors), and returns its assignments in order. Any error is an *Error.
func Parse(file string, data []byte) ([]Var, error) {
	if err := checkText(file, data); err != nil {
		return nil, err
	}
	p := &parser{file: file, s: string(data), line: 1}
	var vars []Var
	for {
		v, ok, err := p.assignment()
		if err != nil {
			return nil, err
		}
		if !ok {
			return vars, nil
		}
		vars = append(vars, v)
	}
}

// checkText refuses what systemd refuses in an environment file: invalid
// UTF-8, NUL, the byte order mark and noncharacters.
func checkText(file string, data []byte) error {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		bad := ""
		switch {
		case r == utf8.RuneError && size <= 1:
			bad = "is not valid UTF-8"
		case r == 0:
			bad = "holds a NUL byte"
		case r == 0xFEFF:
			bad = "holds a byte order mark (U+FEFF); save the file as UTF-8 without one"
		case isNoncharacter(r):
			bad = fmt.Sprintf("holds the Unicode noncharacter U+%04X", r)
		}
		if bad != "" {
			return &Error{File: file, Line: line, Msg: "the line " + bad}
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return nil
}

// isNoncharacter reports U+FDD0..U+FDEF and the last two code points of
// every plane.
func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

type parser struct {
	file string
	s    string
	i    int
	line int
}

func (p *parser) fail(line int, format string, args ...any) error {
	return &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// blank is the white space systemd drops around names and values.
func blank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// assignment reads up to and including the next assignment, skipping
// comments and empty lines; ok is false at the end of the file.
func (p *parser) assignment() (v Var, ok bool, err error) {
	for {
		for p.i < len(p.s) && blank(p.s[p.i]) {
			p.i++
		}
		if p.i >= len(p.s) {
			return Var{}, false, nil
		}
		switch p.s[p.i] {
		case '\n':
			p.i++
			p.line++
			continue
		case '#', ';':
			p.skipLine()
			continue
		}
		break
	}
	v.Line = p.line
	if v.Name, err = p.name(); err != nil {
		return Var{}, false, err
	}
	for p.i < len(p.s) && blank(p.s[p.i]) {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '\'':
		v.Value, err = p.singleQuoted()
	case p.i < len(p.s) && p.s[p.i] == '"':
		v.Value, err = p.doubleQuoted()
	default:
		v.Value = p.unquoted()
	}
	return v, err == nil, err
}

func (p *parser) skipLine() {
	if j := strings.IndexByte(p.s[p.i:], '\n'); j >= 0 {
		p.i += j + 1
		p.line++
		return
	}
	p.i = len(p.s)
}

// name reads NAME= and checks NAME.
func (p *parser) name() (string, error) {
	rest := p.s[p.i:]
	eq := strings.IndexByte(rest, '=')
	nl := strings.IndexByte(rest, '\n')
	if eq < 0 || (nl >= 0 && nl < eq) {
		end := len(rest)
		if nl >= 0 {
			end = nl
		}
		return "", p.fail(p.line, "%q: no '=': want NAME=VALUE (a comment starts with # or ;)", strings.TrimRight(rest[:end], " \t\r"))
	}
	name := strings.Trim(rest[:eq], " \t\r")
	p.i += eq + 1
	if n, ok := strings.CutPrefix(name, "export"); ok && len(n) > 0 && blank(n[0]) {
		return "", p.fail(p.line, "%q: systemd has no export; write %s=...", name, strings.TrimLeft(n, " \t\r"))
	}
	if !validName(name) {
		return "", p.fail(p.line, "%q is not a variable name (ASCII letters, digits and _, not starting with a digit)", name)
	}
	return name, nil
}

func validName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// unquoted reads a value up to the end of its line, following
// backslash-newline continuations.
func (p *parser) unquoted() string {
	var b strings.Builder
	keep := 0 // b's length without trailing unescaped white space
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\n':
			p.i++
			p.line++
			return b.String()[:keep]
		case c == '\\' && p.i+1 >= len(p.s):
			p.i++ // nothing follows to keep or to continue on
		case c == '\\' && p.s[p.i+1] == '\n':
			p.i += 2
			p.line++
		case c == '\\':
			_, size := utf8.DecodeRuneInString(p.s[p.i+1:])
			b.WriteString(p.s[p.i+1 : p.i+1+size])
			keep = b.Len()
			p.i += 1 + size
		default:
			b.WriteByte(c)
			if !blank(c) {
				keep = b.Len()
			}
			p.i++
		}
	}
	return b.String()[:keep]
}

// singleQuoted reads '...' verbatim.
func (p *parser) singleQuoted() (string, error) {
	start := p.line
	p.i++
	j := strings.IndexByte(p.s[p.i:], '\'')
	if j < 0 {
		return "", p.fail(start, "the ' quote opened here is never closed")
	}
	v := p.s[p.i : p.i+j]
	p.line += strings.Count(v, "\n")
	p.i += j + 1
	return v, p.endOfValue(start)
}

// doubleQuoted reads "..." with the escapes of a POSIX shell's double
// quotes.
func (p *parser) doubleQuoted() (string, error) {
	start := p.line
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.fail(start, "the \" quote opened here is never closed")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), p.endOfValue(start)
		case c == '\\' && p.i+1 < len(p.s) && strings.IndexByte("\"\\`$", p.s[p.i+1]) >= 0:
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
			p.line++
		default:
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
			p.i++
		}
	}
}

// endOfValue wants nothing but white space between a closing quote and
// the end of its line.
func (p *parser) endOfValue(start int) error {
	for p.i < len(p.s) && blank(p.s[p.i]) {
		p.i++
	}
	if p.i >= len(p.s) {
		return nil
	}
	if p.s[p.i] != '\n' {
		return p.fail(p.line, "after the closing quote of the value begun on line %d, only white space may follow on the line (systemd would join the rest to the value)", start)
	}
	p.i++
	p.line++
	return nil
}
