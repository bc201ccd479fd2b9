package envfile

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParse: each rule of systemd.exec(5) for EnvironmentFile=, one row
// at least, with what systemd reads.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Var
	}{
		{"plain", "A=b\n", []Var{{"A", "b", 1}}},
		{"no final newline", "A=b", []Var{{"A", "b", 1}}},
		{"empty value", "A=\n", []Var{{"A", "", 1}}},
		{"comments and empty lines", "# c\n; c\n\n   \n  # indented\nA=1\n", []Var{{"A", "1", 6}}},
		{"no comment after a value", "A=b # not a comment\n", []Var{{"A", "b # not a comment", 1}}},
		{"white space around name and value dropped", " \tA = \t b c \t\r\n", []Var{{"A", "b c", 1}}},
		{"CRLF", "A=b\r\nB=c\r\n", []Var{{"A", "b", 1}, {"B", "c", 2}}},
		{"interior white space kept", "A=a  b\tc\n", []Var{{"A", "a  b\tc", 1}}},
		{"unquoted backslash keeps the next character", `A=a\\b\$c\ d\"e` + "\n", []Var{{"A", `a\b$c d"e`, 1}}},
		{"unquoted escaped trailing space kept", "A=a\\ \n", []Var{{"A", "a ", 1}}},
		{"unquoted continuation", "A=a\\\n  b\nB=c\n", []Var{{"A", "a  b", 1}, {"B", "c", 3}}},
		{"unquoted quotes after the first character kept", `A=a'b'"c"` + "\n", []Var{{"A", `a'b'"c"`, 1}}},
		{"unquoted backslash at the end of the file", `A=a\`, []Var{{"A", "a", 1}}},
		{"unquoted multibyte escape", "A=\\é\n", []Var{{"A", "é", 1}}},
		{"single quotes verbatim", `A='a\b $c "d"'` + "\n", []Var{{"A", `a\b $c "d"`, 1}}},
		{"single quotes span lines", "A='a\nb'\nB=c\n", []Var{{"A", "a\nb", 1}, {"B", "c", 3}}},
		{"single quotes keep white space inside, drop it outside", "A= ' a ' \t\n", []Var{{"A", " a ", 1}}},
		{"double quotes escapes", `A="a\"b\\c\` + "`" + `d\$e\xf"` + "\n", []Var{{"A", `a"b\c` + "`" + `d$e\xf`, 1}}},
		{"double quotes continuation", "A=\"a\\\nb\"\n", []Var{{"A", "ab", 1}}},
		{"double quotes span lines", "A=\"a\nb\"\nB=1\n", []Var{{"A", "a\nb", 1}, {"B", "1", 3}}},
		{"double quotes no expansion", `A="$HOME ${X}"` + "\n", []Var{{"A", "$HOME ${X}", 1}}},
		{"name twice: both, in order", "A=1\nA=2\n", []Var{{"A", "1", 1}, {"A", "2", 2}}},
		{"equals sign in the value", "A=b=c\n", []Var{{"A", "b=c", 1}}},
		{"control characters allowed", "A=a\x01b\n", []Var{{"A", "a\x01b", 1}}},
		{"web.env", "# web\nRECONCILER_REPO=https://git.example.com/ops/deploy.git\nRECONCILER_SCHEDULE=@every 30s\n",
			[]Var{{"RECONCILER_REPO", "https://git.example.com/ops/deploy.git", 2}, {"RECONCILER_SCHEDULE", "@every 30s", 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("x.env", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q):\ngot  %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

// TestParseRefuses: what systemd documents nothing about, or would read in
// a way nobody means, is refused naming the file and the line.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no equals sign", "A=1\nRECONCILER_REPO https://x\n", `x.env:2: "RECONCILER_REPO https://x": no '='`},
		{"export", "export A=1\n", `x.env:1: "export A": systemd has no export; write A=...`},
		{"name with a space", "A B=1\n", `x.env:1: "A B" is not a variable name`},
		{"name starting with a digit", "1A=1\n", `x.env:1: "1A" is not a variable name`},
		{"empty name", "=1\n", `x.env:1: "" is not a variable name`},
		{"name with a dash", "A-B=1\n", `x.env:1: "A-B" is not a variable name`},
		{"unterminated single quote", "A=1\nB='x\n\n", "x.env:2: the ' quote opened here is never closed"},
		{"unterminated double quote", "B=\"x\\\"\n", "x.env:1: the \" quote opened here is never closed"},
		{"text after a closing quote", "A='a\nb' c\n", "x.env:2: after the closing quote of the value begun on line 1"},
		{"two quoted words", `A="a" "b"` + "\n", "x.env:1: after the closing quote"},
		{"invalid UTF-8", "A=1\nB=\xff\n", "x.env:2: the line is not valid UTF-8"},
		{"NUL", "A=1\x00\n", "x.env:1: the line holds a NUL byte"},
		{"byte order mark", "\uFEFFA=1\n", "x.env:1: the line holds a byte order mark"},
		{"noncharacter", "A=1\nB=\uFFFF\n", "x.env:2: the line holds the Unicode noncharacter U+FFFF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("x.env", []byte(tc.in))
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Parse(%q): got %+v, %v; want an *Error starting %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestParseExampleFiles: the example files of docs/systemd parse, and
// every setting in them is a RECONCILER_* one.
func TestParseExampleFiles(t *testing.T) {
	for _, f := range []string{"../../docs/systemd/web.env", "../../docs/systemd/apps.d/api.env"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		vars, err := Parse(f, data)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(vars) < 3 {
			t.Errorf("%s: got %d settings, want the example's", f, len(vars))
		}
		for _, v := range vars {
			if !strings.HasPrefix(v.Name, "RECONCILER_") {
				t.Errorf("%s:%d: %s is no RECONCILER_* setting", f, v.Line, v.Name)
			}
		}
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// quote writes a value so that Parse reads it back: single quotes when it
// holds none, else double quotes with the four escapes.
func quote(v string) string {
	if !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`).Replace(v) + `"`
}

// FuzzParseEnv: any input is read or refused with an *Error naming the
// file and a line of it, never a panic; what is read has valid names,
// lines in order and text systemd accepts; and written back quoted, it
// reads the same.
func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{
		"A=b\n", "# c\nA = 'x y'\nB=\"a\\\"b\"\n", "A=a\\\nb", "export A=1", "A='x", "A=\"x\\", "A B=1",
		"A='a' b", "=", "\uFEFF", "A=\\", "A=\"\n\n\"\nB=1", "A=1\r\nB=2\r\n", ";x\n\t#y\nA=\\é",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		vars, err := Parse("f.env", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "f.env" || e.Line < 1 || e.Line > lines || !strings.HasPrefix(err.Error(), "f.env:") {
				t.Fatalf("error %q (%#v): want an *Error naming f.env and a line in 1..%d", err, err, lines)
			}
			return
		}
		prev := 0
		var b strings.Builder
		for _, v := range vars {
			if !nameRE.MatchString(v.Name) || v.Line < prev || v.Line > lines {
				t.Fatalf("read %+v after line %d of %d", v, prev, lines)
			}
			if !utf8.ValidString(v.Value) || strings.ContainsAny(v.Value, "\x00\uFEFF") {
				t.Fatalf("read value %q", v.Value)
			}
			prev = v.Line
			b.WriteString(v.Name + "=" + quote(v.Value) + "\n")
		}
		again, err := Parse("g.env", []byte(b.String()))
		if err != nil {
			t.Fatalf("written back as %q: %v", b.String(), err)
		}
		if len(again) != len(vars) {
			t.Fatalf("written back: %d vars, want %d", len(again), len(vars))
		}
		for i := range vars {
			if again[i].Name != vars[i].Name || again[i].Value != vars[i].Value {
				t.Fatalf("written back: got %q=%q, want %q=%q", again[i].Name, again[i].Value, vars[i].Name, vars[i].Value)
			}
		}
	})
}
