package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTestLayout(t *testing.T) Layout {
	t.Helper()
	l, err := NewLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(l.Release(), 0o755); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestParseLocalConf(t *testing.T) {
	l := newTestLayout(t)
	for _, n := range []string{"app.1.0", "cfg.1.0"} {
		if err := os.WriteFile(filepath.Join(l.Release(), n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/bin/sh", filepath.Join(l.Release(), "app.evil")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(l.Dir, "outside")
	if err := os.WriteFile(outside, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	rel := l.Release()
	tests := []struct {
		name, in string
		want     string // "" = valid
	}{
		{"absolute", `{"bin.file":"` + rel + `/app.1.0","cfg.file":"` + rel + `/cfg.1.0","version":"1.0","revision":"abc"}`, ""},
		{"relative to release", `{"bin.file":"app.1.0"}`, ""},
		{"seed keys only", `{"bin.file":"` + rel + `/app.1.0","cfg.file":"` + rel + `/cfg.1.0"}`, ""},
		{"outside release", `{"bin.file":"` + outside + `"}`, "is not a file in"},
		{"dotdot out", `{"bin.file":"` + rel + `/../outside"}`, "is not a file in"},
		{"system binary", `{"bin.file":"/bin/sh"}`, "is not a file in"},
		{"missing file", `{"bin.file":"` + rel + `/app.9"}`, "no such file"},
		{"symlink in release", `{"bin.file":"` + rel + `/app.evil"}`, "not a regular file"},
		{"itself", `{"bin.file":"` + rel + `/current.conf"}`, "not a release file"},
		{"temp file", `{"bin.file":"` + rel + `/.app.1.0.tmp-1"}`, "not a release file"},
		{"missing bin", `{"cfg.file":"` + rel + `/cfg.1.0"}`, `"bin.file" is required`},
		{"unknown key", `{"bin.file":"app.1.0","bin.fiel":"x"}`, `unknown key "bin.fiel"`},
		{"torn write", `{"bin.file":"` + rel, "unexpected end"},
		{"empty", ``, "empty file"},
		{"unbalanced array", `[<`, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := l.parseLocalConf([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if c.BinFile != filepath.Join(rel, "app.1.0") {
					t.Errorf("got bin.file %q, want the absolute path", c.BinFile)
				}
				return
			}
			if err == nil || !errors.Is(err, errBadLocalConf) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrBadLocalConf mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLocalConfRoundTrip(t *testing.T) {
	l := newTestLayout(t)
	d := Desired{Version: "2.0", Bin: &Artifact{URL: "https://x/y", SHA256: goodSum}, Cfg: &Artifact{Path: "c"}}
	c := l.localConfFor(d, "abc")
	for _, f := range []string{c.BinFile, c.CfgFile} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.parseLocalConf(c.Marshal())
	if err != nil || got != c {
		t.Fatalf("got %+v, %v; want %+v", got, err, c)
	}
	if !strings.Contains(string(c.Marshal()), `"bin.file": "`+l.Release()+`/app.2.0"`) {
		t.Errorf("got %s, want the seed's bin.file key with an absolute path", c.Marshal())
	}
}

// TestLocalConfErrorNamesFileOnce: the refusal of a hand edit names the
// file once, then the reason.
func TestLocalConfErrorNamesFileOnce(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	_, err := l.parseLocalConf([]byte(`{"bin.file": "/etc/passwd"}`))
	if err == nil || strings.Count(err.Error(), "current.conf") != 1 || !strings.Contains(err.Error(), `"bin.file"`) {
		t.Errorf("got %v, want the file named once and the key", err)
	}
}
