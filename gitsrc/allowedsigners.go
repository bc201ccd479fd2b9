package gitsrc

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// allowedSigner is one entry of git's allowed-signers file, whose format is
// ssh-keygen's (ssh-keygen(1), "ALLOWED SIGNERS"):
//
//	principals [options] keytype base64-key [comment]
//
// Supported options: namespaces="pattern,...", valid-after="time" and
// valid-before="time". cert-authority is refused: the file must list the
// signing keys themselves.
type allowedSigner struct {
	line        int
	principals  string   // as written: names the signer, never matched
	namespaces  []string // patterns (ssh's * and ?, ! negates); nil: any
	validAfter  time.Time
	validBefore time.Time // zero: unbounded
	key         ssh.PublicKey
}

// parseAllowedSigners parses a whole allowed-signers file. Blank lines and
// lines starting with '#' are skipped; any other line must be a valid entry,
// so a typo fails loudly instead of silently trusting less (or more). A file
// without entries is an error: it would make every commit untrusted.
func parseAllowedSigners(data []byte) ([]allowedSigner, error) {
	var signers []allowedSigner
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		e, err := parseSignerLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		e.line = i + 1
		signers = append(signers, e)
	}
	if len(signers) == 0 {
		return nil, errors.New("no signers listed")
	}
	return signers, nil
}

// parseSignerLine parses one non-blank, non-comment line. The key and the
// options are parsed by x/crypto/ssh (as an authorized_keys line, which has
// the same "[options] keytype base64 [comment]" shape after the principals).
func parseSignerLine(line string) (allowedSigner, error) {
	principals, rest, err := cutPrincipals(line)
	if err != nil {
		return allowedSigner{}, err
	}
	if strings.TrimSpace(rest) == "" {
		return allowedSigner{}, errors.New("no public key after the principals")
	}
	key, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return allowedSigner{}, fmt.Errorf("public key: %w", err)
	}
	if _, ok := key.(*ssh.Certificate); ok {
		return allowedSigner{}, errors.New("a certificate is not supported: list the plain public key")
	}
	e := allowedSigner{principals: principals, key: key}
	seen := map[string]bool{}
	for _, o := range opts {
		raw, _, _ := strings.Cut(o, "=")
		name := strings.ToLower(raw)
		if seen[name] {
			return allowedSigner{}, fmt.Errorf("option %s given twice", name)
		}
		seen[name] = true
		if err := e.setOption(name, o[len(raw):]); err != nil {
			return allowedSigner{}, err
		}
	}
	return e, nil
}

// cutPrincipals splits off the first field, which may be double-quoted.
func cutPrincipals(line string) (principals, rest string, err error) {
	if strings.HasPrefix(line, `"`) {
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return "", "", errors.New("principals: missing closing quote")
		}
		principals, rest = line[1:1+end], line[2+end:]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return "", "", errors.New("principals: text right after the closing quote")
		}
	} else {
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return "", "", errors.New("no public key after the principals")
		}
		principals, rest = line[:i], line[i:]
	}
	if principals == "" {
		return "", "", errors.New("empty principals")
	}
	return principals, rest, nil
}

// setOption applies one option; value is "" or "=..." as written.
func (e *allowedSigner) setOption(name, value string) error {
	if name == "cert-authority" {
		return errors.New("cert-authority is not supported: list each signing key instead")
	}
	if name != "namespaces" && name != "valid-after" && name != "valid-before" {
		return fmt.Errorf("unsupported option %q (supported: namespaces, valid-after, valid-before)", name)
	}
	// ssh-keygen requires the quotes; accepting more would make a file that
	// works here and fails in git verify-commit.
	v, ok := strings.CutPrefix(value, `="`)
	if v, ok = strings.CutSuffix(v, `"`); !ok || v == "" || strings.Contains(v, `"`) {
		return fmt.Errorf(`option %s: want %s="value"`, name, name)
	}
	var err error
	switch name {
	case "namespaces":
		e.namespaces = strings.Split(v, ",")
	case "valid-after":
		e.validAfter, err = parseSignerTime(v)
	case "valid-before":
		e.validBefore, err = parseSignerTime(v)
	}
	if err != nil {
		return fmt.Errorf("option %s: %w", name, err)
	}
	return nil
}

// parseSignerTime parses ssh-keygen's absolute times: YYYYMMDD[HHMM[SS]],
// in local time, or in UTC with a trailing "Z".
func parseSignerTime(s string) (time.Time, error) {
	loc := time.Local
	digits := s
	if d, ok := strings.CutSuffix(s, "Z"); ok {
		loc, digits = time.UTC, d
	}
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(digits)]
	if !ok || strings.Trim(digits, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("time %q: want YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally followed by Z", s)
	}
	t, err := time.ParseInLocation(layout, digits, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return t, nil
}

// allows says why the entry does not allow a signature in namespace made at
// time at, or returns nil.
func (e *allowedSigner) allows(namespace string, at time.Time) error {
	switch {
	case e.namespaces != nil && !matchPatternList(namespace, e.namespaces):
		return fmt.Errorf("line %d allows namespaces %q, not %q", e.line, strings.Join(e.namespaces, ","), namespace)
	case !e.validAfter.IsZero() && at.Before(e.validAfter):
		return fmt.Errorf("line %d: key valid only after %s, commit made %s", e.line, e.validAfter.Format(time.RFC3339), at.Format(time.RFC3339))
	case !e.validBefore.IsZero() && at.After(e.validBefore):
		return fmt.Errorf("line %d: key valid only before %s, commit made %s", e.line, e.validBefore.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	return nil
}

// findSigner returns the first entry listing key that allows namespace at
// time at. The error says why none does.
func findSigner(signers []allowedSigner, key ssh.PublicKey, namespace string, at time.Time) (*allowedSigner, error) {
	want := key.Marshal()
	var why error
	for i := range signers {
		e := &signers[i]
		if !bytes.Equal(e.key.Marshal(), want) {
			continue
		}
		err := e.allows(namespace, at)
		if err == nil {
			return e, nil
		}
		if why == nil {
			why = err
		}
	}
	if why == nil {
		why = errors.New("not listed in the allowed signers")
	}
	return nil, why
}

// matchPatternList reports whether s matches the comma-separated ssh
// pattern list (as ssh's match_pattern_list): some pattern matches and no
// negated one (!pattern) does.
func matchPatternList(s string, patterns []string) bool {
	matched := false
	for _, p := range patterns {
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			if matchPattern(s, neg) {
				return false
			}
			continue
		}
		matched = matched || matchPattern(s, p)
	}
	return matched
}

// matchPattern matches s against p, where '*' is any run of bytes and '?'
// any one byte. It backtracks to the last '*' only, so it runs in
// O(len(s)*len(p)).
func matchPattern(s, p string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si, pi = si+1, pi+1
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
