package reconcile

import (
	"errors"
	"strings"
	"testing"
)

const goodSum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParseDesiredGood(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(t *testing.T, d Desired)
	}{
		{"url and repo path", `{"version":"2.0","bin":{"url":"https://a.example/web","sha256":"` + goodSum + `"},"cfg":{"path":"web/cfg-2.0.json"}}`,
			func(t *testing.T, d Desired) {
				if d.Version != "2.0" || d.Bin.URL != "https://a.example/web" || d.Cfg.Path != "web/cfg-2.0.json" {
					t.Errorf("got %+v", d)
				}
			}},
		{"upper-case digest normalised", `{"version":"v1_2+b-3","bin":{"url":"file:///srv/a","sha256":"` + strings.ToUpper(goodSum) + `"}}`,
			func(t *testing.T, d Desired) {
				if d.Bin.SHA256 != goodSum {
					t.Errorf("got sha256 %s, want %s", d.Bin.SHA256, goodSum)
				}
				if d.Cfg != nil {
					t.Errorf("got cfg %+v, want none", d.Cfg)
				}
			}},
		{"64-char version", `{"version":"` + strings.Repeat("a", 64) + `","bin":{"path":"bin/app"}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDesired("web/current.conf", []byte(tt.in))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// TestParseDesiredBad covers every bad desired file of docs/reference.md: each must be
// refused with a message naming the file and the key at fault.
func TestParseDesiredBad(t *testing.T) {
	bin := `"bin":{"url":"https://a.example/web","sha256":"` + goodSum + `"}`
	tests := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"empty", ``, []string{"empty file"}},
		{"invalid JSON", `{"version":"1",`, []string{"invalid JSON"}},
		{"not an object", `["version"]`, []string{"want a"}},
		{"unbalanced array (used to loop forever)", `[<`, []string{"invalid JSON"}},
		{"unbalanced nested array", `{"version":[[<`, []string{"invalid JSON"}},
		{"trailing data", `{"version":"1",` + bin + `} {}`, []string{"trailing data"}},
		{"unknown key sha265", `{"version":"1","bin":{"url":"https://a/x","sha265":"` + goodSum + `"}}`, []string{`unknown key "bin.sha265"`}},
		{"unknown key in cfg", `{"version":"1",` + bin + `,"cfg":{"path":"web/cfg","sah256":"x"}}`, []string{`unknown key "cfg.sah256"`}},
		{"unknown top key", `{"version":"1",` + bin + `,"extra":1}`, []string{`unknown key "extra"`}},
		{"duplicate key", `{"version":"1","version":"2",` + bin + `}`, []string{`"version" appears twice`}},
		{"missing version", `{` + bin + `}`, []string{`"version" is required`}},
		{"version with slash", `{"version":"../1",` + bin + `}`, []string{`key "version"`}},
		{"version starting with dot", `{"version":".1",` + bin + `}`, []string{`key "version"`}},
		{"version too long", `{"version":"` + strings.Repeat("a", 65) + `",` + bin + `}`, []string{`key "version"`}},
		{"version with space", `{"version":"1 0",` + bin + `}`, []string{`key "version"`}},
		{"version a number", `{"version":2,` + bin + `}`, []string{`"version"`, "string"}},
		{"missing bin", `{"version":"1"}`, []string{`"bin" is required`}},
		{"bin with neither", `{"version":"1","bin":{}}`, []string{`key "bin"`}},
		{"bin with both", `{"version":"1","bin":{"url":"https://a/x","sha256":"` + goodSum + `","path":"x"}}`, []string{"exactly one"}},
		{"missing digest", `{"version":"1","bin":{"url":"https://a/x"}}`, []string{`"bin.sha256" is required`}},
		{"short digest", `{"version":"1","bin":{"url":"https://a/x","sha256":"abc"}}`, []string{`"bin.sha256"`, "64 hex"}},
		{"non-hex digest", `{"version":"1","bin":{"url":"https://a/x","sha256":"` + strings.Repeat("z", 64) + `"}}`, []string{"64 hex"}},
		{"ftp scheme", `{"version":"1","bin":{"url":"ftp://a/x","sha256":"` + goodSum + `"}}`, []string{"unsupported URL scheme", "ftp"}},
		{"no scheme", `{"version":"1","bin":{"url":"a/x","sha256":"` + goodSum + `"}}`, []string{"unsupported URL scheme"}},
		{"relative file URL", `{"version":"1","bin":{"url":"file:a/x","sha256":"` + goodSum + `"}}`, []string{"absolute path"}},
		{"path with dotdot", `{"version":"1",` + bin + `,"cfg":{"path":"../etc/passwd"}}`, []string{`"cfg.path"`, "leaves the deploy repo"}},
		{"path inner dotdot", `{"version":"1",` + bin + `,"cfg":{"path":"web/../../x"}}`, []string{"leaves the deploy repo"}},
		{"absolute path", `{"version":"1",` + bin + `,"cfg":{"path":"/etc/passwd"}}`, []string{"absolute"}},
		{"backslash path", `{"version":"1",` + bin + `,"cfg":{"path":"..\\x"}}`, []string{"backslash"}},
		{"path with digest", `{"version":"1",` + bin + `,"cfg":{"path":"c","sha256":"` + goodSum + `"}}`, []string{`"cfg.sha256"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDesired("web/current.conf", []byte(tt.in))
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if !errors.Is(err, ErrInvalidDesired) {
				t.Errorf("got %v, want it to wrap ErrInvalidDesired", err)
			}
			msg := err.Error()
			for _, w := range append(tt.want, "web/current.conf") {
				if !strings.Contains(msg, w) {
					t.Errorf("got %q, want it to mention %q", msg, w)
				}
			}
		})
	}
}

func TestParseDesiredRedactsURL(t *testing.T) {
	_, err := ParseDesired("c", []byte(`{"version":"1","bin":{"url":"ftp://user:hunter2@a/x?token=s3cret","sha256":"`+goodSum+`"}}`))
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v, want an error without the credentials", err)
	}
}
