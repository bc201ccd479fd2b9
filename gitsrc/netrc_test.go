package gitsrc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		want       []netrcEntry
	}{
		{"one line", "machine git.example.com login alice password s3cret\n",
			[]netrcEntry{{"git.example.com", "alice", "s3cret"}}},
		{"spread over lines, tabs, no final newline", "machine\n\tgit.example.com\nlogin alice\r\n  password\n s3cret",
			[]netrcEntry{{"git.example.com", "alice", "s3cret"}}},
		{"default and account and port", "machine a login u1 password p1 account acct port 443\ndefault login u2 password p2\n",
			[]netrcEntry{{"a", "u1", "p1"}, {"", "u2", "p2"}}},
		{"comments; a password may start with #", "# netrc of the deploy user\nmachine a # the git host\n" +
			"login u password #p#\n  # machine b login evil password evil\n",
			[]netrcEntry{{"a", "u", "#p#"}}},
		{"macdef body is skipped up to an empty line", "machine a login u password p\nmacdef init\n" +
			"machine evil login x password y\ncd /pub\n\nmachine b login v password q\n",
			[]netrcEntry{{"a", "u", "p"}, {"b", "v", "q"}}},
		{"macdef at the end", "machine a login u password p macdef init machine c\nmachine evil password y\n",
			[]netrcEntry{{"a", "u", "p"}}},
		{"empty", "\n  \n", nil},
	} {
		got, err := parseNetrc([]byte(tc.text))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: parseNetrc = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestParseNetrcErrors(t *testing.T) {
	t.Parallel()
	const secret = "Sup3rSecret"
	for _, tc := range []struct{ name, text, want string }{
		{"misspelt keyword", "machine a login u\npasword " + secret + "\n", "line 2: unknown keyword"},
		{"password before machine", "password " + secret + "\n", `line 1: "password" before any "machine"`},
		{"value missing at the end", "machine a login u password\n", `"password" without a value`},
		{"stray word", "machine a " + secret + "\n", "line 1: unknown keyword"},
	} {
		_, err := parseNetrc([]byte(tc.text))
		if !errors.Is(err, errNetrcSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parseNetrc error %v, want errNetrcSyntax saying %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q shows a word of the file", tc.name, err)
		}
	}
}

func TestLookupNetrc(t *testing.T) {
	t.Parallel()
	entries := []netrcEntry{
		{"git.example.com", "alice", "p1"},
		{"git.example.com", "bob", "p2"},
		{"git.example.com:8443", "carol", "p3"},
		{"", "dave", "p4"},
	}
	for _, tc := range []struct {
		name, host, authority, login string
		want                         string // login of the entry found, "" for none
	}{
		{"first for the host", "git.example.com", "git.example.com", "", "alice"},
		{"host is case-insensitive", "GIT.Example.com", "GIT.Example.com", "", "alice"},
		{"by URL login", "git.example.com", "git.example.com", "bob", "bob"},
		{"port ignored", "git.example.com", "git.example.com:8443", "", "alice"},
		{"port matched when named", "git.example.com", "git.example.com:8443", "carol", "carol"},
		{"default for other hosts", "other.example.com", "other.example.com", "", "dave"},
		{"no entry for that login", "git.example.com", "git.example.com", "erin", ""},
	} {
		e, ok := lookupNetrc(entries, tc.host, tc.authority, tc.login)
		if got := e.login; got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: lookupNetrc = %+v, %v; want login %q", tc.name, e, ok, tc.want)
		}
	}
	if _, ok := lookupNetrc(entries[:3], "other.example.com", "other.example.com", ""); ok {
		t.Errorf("lookupNetrc without a default found an entry for another host")
	}
}

// TestReadNetrcPath: $NETRC, else ~/.netrc, which may be absent; a named
// file must exist. (Not parallel: it sets HOME and NETRC.)
func TestReadNetrcPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("NETRC", "")
	if got, err := readNetrc(""); err != nil || got != nil {
		t.Fatalf("readNetrc without ~/.netrc = %+v, %v; want nothing", got, err)
	}
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine h login home password p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readNetrc(""); err != nil || len(got) != 1 || got[0].login != "home" {
		t.Fatalf("readNetrc with ~/.netrc = %+v, %v; want its entry", got, err)
	}
	env := filepath.Join(t.TempDir(), "netrc")
	t.Setenv("NETRC", env)
	if _, err := readNetrc(""); err == nil || !strings.Contains(err.Error(), env) {
		t.Fatalf("readNetrc with a missing $NETRC: %v, want an error naming %s", err, env)
	}
	if err := os.WriteFile(env, []byte("machine h login env password p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readNetrc(""); err != nil || len(got) != 1 || got[0].login != "env" {
		t.Fatalf("readNetrc with $NETRC = %+v, %v; want its entry", got, err)
	}
	named := filepath.Join(home, ".netrc")
	if got, err := readNetrc(named); err != nil || len(got) != 1 || got[0].login != "home" {
		t.Fatalf("readNetrc(%s) = %+v, %v; want its entry, not $NETRC's", named, got, err)
	}
}
