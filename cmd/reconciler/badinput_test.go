package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncBadInput runs every bad input of docs/reference.md against a directory that
// runs 1.0: sync must exit non-zero with a message naming the file, key or
// URL, leave the directory exactly as it was, and recover once the repo is
// fixed.
func TestSyncBadInput(t *testing.T) {
	t.Parallel()
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	tests := []struct {
		name string
		// break_ makes the repo (or its surroundings) bad; it returns
		// extra sync flags and the substrings the error must contain.
		break_ func(d *deployRepo) (flags []string, want []string)
	}{
		{"missing desired file", func(d *deployRepo) ([]string, []string) {
			return []string{"--path", "web/nope.conf"}, []string{"web/nope.conf", "not found"}
		}},
		{"missing ref", func(d *deployRepo) ([]string, []string) {
			return []string{"--ref", "no-such-branch"}, []string{"no-such-branch"}
		}},
		{"unreachable repo", func(d *deployRepo) ([]string, []string) {
			return []string{"--repo", "http://" + closedPort + "/deploy.git"}, []string{closedPort, "unreachable"}
		}},
		{"missing repo", func(d *deployRepo) ([]string, []string) {
			return []string{"--repo", filepath.Join(t.TempDir(), "nothing")}, []string{"nothing"}
		}},
		{"invalid JSON", func(d *deployRepo) ([]string, []string) {
			d.commitDesired(`{"version": "2.0", "bin": {`)
			return nil, []string{"web/current.conf", "invalid JSON"}
		}},
		{"unknown key", func(d *deployRepo) ([]string, []string) {
			url, sum := d.art.put("/web-2.0", binary("2.0"))
			d.commitDesired(fmt.Sprintf(`{"version":"2.0","bin":{"url":%q,"sha265":%q}}`, url, sum))
			return nil, []string{"web/current.conf", `unknown key "bin.sha265"`}
		}},
		{"bad version", func(d *deployRepo) ([]string, []string) {
			url, sum := d.art.put("/web-2.0", binary("2.0"))
			d.commitDesired(fmt.Sprintf(`{"version":"../../x","bin":{"url":%q,"sha256":%q}}`, url, sum))
			return nil, []string{"web/current.conf", `key "version"`}
		}},
		{"missing digest", func(d *deployRepo) ([]string, []string) {
			url, _ := d.art.put("/web-2.0", binary("2.0"))
			d.commitDesired(fmt.Sprintf(`{"version":"2.0","bin":{"url":%q}}`, url))
			return nil, []string{"web/current.conf", `"bin.sha256" is required`}
		}},
		{"bad digest", func(d *deployRepo) ([]string, []string) {
			url, _ := d.art.put("/web-2.0", binary("2.0"))
			d.commitDesired(fmt.Sprintf(`{"version":"2.0","bin":{"url":%q,"sha256":"1234"}}`, url))
			return nil, []string{"web/current.conf", `"bin.sha256"`}
		}},
		{"unsupported scheme", func(d *deployRepo) ([]string, []string) {
			d.commitDesired(`{"version":"2.0","bin":{"url":"ftp://example.com/web","sha256":"` + strings.Repeat("a", 64) + `"}}`)
			return nil, []string{"web/current.conf", "ftp"}
		}},
		{"path leaving the repo", func(d *deployRepo) ([]string, []string) {
			d.release("2.0")
			d.WriteFile("web/current.conf", []byte(strings.Replace(readRepoFile(t, d, "web/current.conf"), "web/cfg-2.0.json", "../../etc/passwd", 1)))
			d.Commit("escape")
			return nil, []string{"../../etc/passwd"}
		}},
		{"symlink leaving the repo", func(d *deployRepo) ([]string, []string) {
			d.release("2.0")
			os.Remove(filepath.Join(d.Dir, "web/cfg-2.0.json"))
			d.Symlink("/etc/passwd", "web/cfg-2.0.json")
			d.Commit("symlink out")
			return nil, []string{"web/cfg-2.0.json"}
		}},
		{"404", func(d *deployRepo) ([]string, []string) {
			d.release("2.0")
			d.art.setFault("/web-2.0", "404")
			return nil, []string{"/web-2.0", "404"}
		}},
		{"500", func(d *deployRepo) ([]string, []string) {
			d.release("2.0")
			d.art.setFault("/web-2.0", "500")
			return nil, []string{"/web-2.0", "500"}
		}},
		{"refused connection", func(d *deployRepo) ([]string, []string) {
			url, sum := "http://"+closedPort+"/web-2.0", sha(binary("2.0"))
			d.commitDesired(fmt.Sprintf(`{"version":"2.0","bin":{"url":%q,"sha256":%q}}`, url, sum))
			return nil, []string{closedPort, "refused"}
		}},
		{"digest mismatch", func(d *deployRepo) ([]string, []string) {
			d.release("2.0")
			d.art.setFault("/web-2.0", "corrupt")
			return nil, []string{"/web-2.0", "mismatch"}
		}},
		{"truncated download", func(d *deployRepo) ([]string, []string) {
			d.release("2.0")
			d.art.setFault("/web-2.0", "truncate")
			return nil, []string{"/web-2.0", "truncated"}
		}},
		{"changed artifact under an existing version", func(d *deployRepo) ([]string, []string) {
			url, sum := d.art.put("/web-1.0-rebuilt", []byte("other bytes"))
			d.commitDesired(fmt.Sprintf(`{"version":"1.0","bin":{"url":%q,"sha256":%q}}`, url, sum))
			return nil, []string{"release/app.1.0", "immutable"}
		}},
		{"changed config under an existing version", func(d *deployRepo) ([]string, []string) {
			d.WriteFile("web/cfg-1.0.json", []byte(`{"changed": true}`))
			d.Commit("edit cfg in place")
			return nil, []string{"release/cfg.1.0", "immutable"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDeployRepo(t)
			rev1 := d.release("1.0")
			dir := t.TempDir()
			mustSync(t, d.URL(), dir)
			before := snapshot(t, dir, ".reconciler")

			flags, want := tt.break_(d)
			args := append(syncArgs(d.URL(), dir), append([]string{"--git-timeout", "5s"}, flags...)...)
			out, errOut, code := runCLI(t, args...)
			t.Logf("exit %d: %s", code, errOut)
			if code != 1 {
				t.Fatalf("got exit %d, want 1\n%s", code, out)
			}
			for _, w := range want {
				if !strings.Contains(errOut, w) {
					t.Errorf("got stderr %q, want it to name %q", errOut, w)
				}
			}
			if after := snapshot(t, dir, ".reconciler"); after != before {
				t.Errorf("the directory changed:\n%s\nwant:\n%s", after, before)
			}
			assertApplied(t, dir, "1.0", rev1)

			// Fixed in the repo (and the store), the next sync deploys.
			d.art.setFault("/web-3.0", "")
			rev3 := d.release("3.0")
			mustSync(t, d.URL(), dir)
			assertApplied(t, dir, "3.0", rev3)
		})
	}
}

func readRepoFile(t *testing.T, d *deployRepo, p string) string {
	data, err := os.ReadFile(filepath.Join(d.Dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
