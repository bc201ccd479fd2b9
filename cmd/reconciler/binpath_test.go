package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSyncBinFromRepo deploys a real binary committed to the deploy repo
// (bin.path): byte for byte, executable, and it runs and answers.
func TestSyncBinFromRepo(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	killApps(t, dir)
	bin := exampleApp(t, "1.0")
	d.WriteFile("web/bin/app-1.0", bin)
	d.WriteFile("web/cfg-1.0.json", []byte(fmt.Sprintf(`{"listen": %q, "message": "from the repo"}`+"\n", addr)))
	d.commitDesired(`{"version": "1.0", "bin": {"path": "web/bin/app-1.0"}, "cfg": {"path": "web/cfg-1.0.json"}}`)

	diff, _, code := runCLI(t, "diff", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir)
	if code != 1 || !strings.Contains(diff, "web/bin/app-1.0@") || !strings.Contains(diff, sha(bin)) {
		t.Errorf("diff: exit %d\n%s\nwant exit 1, the binary's source web/bin/app-1.0@REV and its sha256 %s", code, diff, sha(bin))
	}
	out, errOut, code := runCLI(t, "sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--health-url", "http://"+addr+"/healthz", "--health-timeout", "10s", "--log-format", "json")
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	got, err := os.ReadFile(filepath.Join(dir, "release", "app.1.0"))
	if err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("release/app.1.0: %d bytes (err %v), want the committed %d bytes", len(got), err, len(bin))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "release", "app.1.0")); fi.Mode().Perm() != 0o755 {
		t.Errorf("release/app.1.0 mode %v, want 0755", fi.Mode().Perm())
	}
	if got := testkit.Answer(addr); !strings.HasPrefix(got, "exampleapp 1.0: from the repo") {
		t.Errorf("the app answers %q, want the committed binary serving", got)
	}
}

// TestSyncLargeBinFromRepo deploys a 64 MiB binary committed to the deploy
// repo, with a real sync process, and reports its peak RSS: the file is
// streamed from git to release/, never held whole (let alone twice).
func TestSyncLargeBinFromRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB repo")
	}
	t.Parallel()
	d := newDeployRepo(t)
	big := make([]byte, 64<<20)
	_, _ = rand.Read(big)
	copy(big, "#!/bin/sh\nexit 0\n")
	d.WriteFile("web/bin/big", big)
	d.commitDesired(`{"version": "big", "bin": {"path": "web/bin/big"}}`)
	dir := t.TempDir()
	cmd := childSync(t, syncArgs(d.URL(), dir)...)
	peak := peakRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sync: %v\n%s", err, cmd.Stdout)
	}
	if got, _ := artifactsSHA(filepath.Join(dir, "release", "app.big")); got != sha(big) {
		t.Fatalf("release/app.big sha256 %s, want %s", got, sha(big))
	}
	t.Logf("sync of a 64 MiB binary from the repo: peak RSS %d MiB", <-peak>>20)
	if p := <-peak; p > 100<<20 && !raceEnabled {
		t.Errorf("peak RSS %d MiB for a 64 MiB file, want it streamed (< 100 MiB)", p>>20)
	}
}

// peakRSS follows VmHWM of a running process until it exits, and sends the
// last value it read (twice: once to log, once to check).
func peakRSS(pid int) <-chan int64 {
	ch := make(chan int64, 2)
	go func() {
		var last int64
		for {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				break
			}
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb*1024 > last {
						last = kb * 1024
					}
				}
			}
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); bytes.Contains(st, []byte(") Z ")) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		ch <- last
		ch <- last
	}()
	return ch
}

func artifactsSHA(path string) (string, error) {
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		return "", err
	}
	return strings.Fields(string(out))[0], nil
}
