package reconcile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDecrypter "decrypts" by dropping a prefix that stands for the age
// header; another prefix stands for another recipient or a damaged file.
type fakeDecrypter struct{ calls int }

var errFakeDecrypt = errors.New("no identity matches")

func (f *fakeDecrypter) Decrypt(data []byte) ([]byte, error) {
	f.calls++
	plain, ok := bytes.CutPrefix(data, []byte("ENC:"))
	if !ok {
		return nil, errFakeDecrypt
	}
	return plain, nil
}

const secretCfg = "password = hunter2\n"

// TestEncryptedConfig: a cfg.path ending in .age is decrypted right after
// it is read, the plan installs and compares the plaintext, and nothing
// prints it.
func TestEncryptedConfig(t *testing.T) {
	desired := `{"version": "2.0", "bin": {"path": "bin/app"}, "cfg": {"path": "web/cfg.age"}}`
	for _, tc := range []struct {
		name     string
		cfg      string
		dec      bool
		onDisk   string // release/cfg.2.0 before the pass, "" none
		wantErr  error
		wantSame bool // the plan reuses release/cfg.2.0
	}{
		{name: "installs the plaintext", cfg: "ENC:" + secretCfg, dec: true},
		{name: "re-encrypted, same plaintext", cfg: "ENC:" + secretCfg, dec: true, onDisk: secretCfg, wantSame: true},
		{name: "other plaintext, same version", cfg: "ENC:" + secretCfg, dec: true, onDisk: "password = other\n", wantErr: errConflict},
		{name: "no identity", cfg: "ENC:" + secretCfg, wantErr: errNoDecrypter},
		{name: "other recipient", cfg: "XXX:" + secretCfg, dec: true, wantErr: errFakeDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Layout{Dir: t.TempDir()}
			os.MkdirAll(l.Release(), 0o755)
			if tc.onDisk != "" {
				os.WriteFile(l.cfgFile("2.0"), []byte(tc.onDisk), 0o640)
			}
			repo := &fakeRepo{head: head1, files: map[string]string{"current.conf": desired, "bin/app": "#!/bin/sh\n", "web/cfg.age": tc.cfg}}
			e := &Engine{Layout: l, Path: "current.conf", Repo: repo}
			if tc.dec {
				e.Decrypter = &fakeDecrypter{}
			}
			p, err := e.Diff(t.Context())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if name := map[bool]string{true: "release/cfg.2.0", false: "web/cfg.age"}[tc.wantErr == errConflict]; !strings.Contains(err.Error(), name) {
					t.Errorf("got error %q, want it to name %s", err, name)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("got error %q, want no plaintext", err)
				}
				return
			}
			cfg := p.steps[1]
			if !cfg.Encrypted || cfg.SHA256 != sum([]byte(secretCfg)) || string(cfg.Data) != secretCfg {
				t.Errorf("got cfg step secret=%v sha256=%s data=%q, want the plaintext's", cfg.Encrypted, cfg.SHA256, cfg.Data)
			}
			if got := cfg.Action == reuseAction; got != tc.wantSame {
				t.Errorf("got action %s, want reuse=%v", cfg.Action, tc.wantSame)
			}
			var out bytes.Buffer
			p.Render(&out)
			if strings.Contains(out.String(), "hunter2") {
				t.Errorf("diff shows the plaintext:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "web/cfg.age@111111111111 (encrypted) sha256:"+sum([]byte(secretCfg))) {
				t.Errorf("got diff\n%s\nwant the encrypted origin and the plaintext digest", out.String())
			}
		})
	}
}

// TestEncryptedConfigDiff: the config line of diff gives the plaintext
// digests, and the text only with ShowSecrets.
func TestEncryptedConfigDiff(t *testing.T) {
	l := Layout{Dir: "/srv/web"}
	old, next := []byte("password = hunter1\n"), []byte("password = hunter2\n")
	v1 := LocalConf{BinFile: "/srv/web/release/app.1.0", CfgFile: "/srv/web/release/cfg.1.0", Version: "1.0", Revision: "aaaa"}
	desired := Desired{Version: "2.0", Bin: &Artifact{URL: "https://a.example/web-2.0", SHA256: goodSum}, Cfg: &Artifact{Path: "web/cfg-2.0.age"}}
	src := desiredAt{Rev: "bbbb", Desired: desired, CfgData: next, CfgEncrypted: true}
	act := actual{Conf: &v1, Files: map[string]fileState{}, Links: map[string]string{}, CfgOld: old, CfgOldSHA256: sum(old)}
	p, err := planFrom(l, src, act)
	if err != nil {
		t.Fatal(err)
	}
	if p.cfgDiff != "" {
		t.Errorf("got CfgDiff %q, want none for an encrypted config", p.cfgDiff)
	}
	var hidden, shown strings.Builder
	p.Render(&hidden)
	p.ShowSecrets = true
	p.Render(&shown)
	want := "config    encrypted: sha256 " + sum(old) + " -> " + sum(next) + " (--show-secrets to see the diff)\n"
	if !strings.Contains(hidden.String(), want) || strings.Contains(hidden.String(), "hunter") {
		t.Errorf("got\n%s\nwant the line %q and no plaintext", hidden.String(), want)
	}
	if !strings.Contains(shown.String(), "-password = hunter1\n+password = hunter2\n") {
		t.Errorf("with ShowSecrets got\n%s\nwant the text diff", shown.String())
	}

	act.Conf.CfgFile = filepath.Join(l.Release(), "cfg.2.0")
	act.Files["cfg.2.0"] = fileState{Exists: true, SHA256: sum(next)}
	act.CfgOldSHA256 = sum(next)
	if p, _ := planFrom(l, src, act); p.cfgSecret != nil {
		t.Errorf("got a config change %+v, want none when the config in use is the desired one", p.cfgSecret)
	}
}
