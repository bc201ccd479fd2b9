package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestBumpTenApps: ten bumps of ten apps of one deploy repo, run at once
// (the real command, in process), over smart HTTP and file://. The remote
// holds every push until all ten arrived, so nine of the first ten are
// rejected; each is read again, edited on the new head and pushed: all
// ten land, each its own commit, none lost.
func TestBumpTenApps(t *testing.T) {
	const apps = 10
	for _, transport := range []string{"http", "file"} {
		t.Run(transport, func(t *testing.T) {
			r := newBumpRemote(t, nil)
			for i := range apps {
				app := fmt.Sprintf("app%d", i)
				r.repo.WriteFile(app+"/current.conf", []byte(r.desiredFile(app, "1.0")))
			}
			r.repo.Commit("ten apps at 1.0")
			r.repo.Git("push", "-q", r.bare, "HEAD:main")
			before := r.git("rev-parse", "main")
			r.holdPushes(apps)
			args := make([][]string, apps)
			for i := range apps {
				args[i] = r.bumpArgs(transport, fmt.Sprintf("app%d", i), "2.0", "--json")
			}
			type result struct {
				out, errOut string
				code        int
			}
			results := make([]result, apps)
			var wg sync.WaitGroup
			for i := range apps {
				wg.Go(func() {
					out, errOut, code := runCLI(t, args[i]...)
					results[i] = result{out, errOut, code}
				})
			}
			wg.Wait()
			retried := 0
			for i, res := range results {
				if res.code != 0 {
					t.Errorf("bump of app%d: exit %d: %s%s", i, res.code, res.out, res.errOut)
				}
				if !strings.Contains(res.out, `"attempts": 1,`) { // read once, pushed once
					retried++
				}
			}
			if retried < apps-1 {
				t.Errorf("%d bumps were read again after a rejected push, want at least %d (all ten raced)", retried, apps-1)
			}
			if n := r.git("rev-list", "--count", before+"..main"); n != fmt.Sprint(apps) {
				t.Errorf("commits on main: %s, want %d", n, apps)
			}
			for i := range apps {
				app := fmt.Sprintf("app%d", i)
				if got := r.git("log", "--format=%s", before+"..main", "--", app+"/current.conf"); got != app+": 1.0 -> 2.0" {
					t.Errorf("%s's commits: %q, want one bump", app, got)
				}
				if got := r.show(app + "/current.conf"); !strings.Contains(got, `"version": "2.0"`) {
					t.Errorf("%s at main: %s", app, got)
				}
			}
		})
	}
}

// TestBumpSameAppConflict: two bumps of one app to different versions,
// at once, from the same head (the remote holds both pushes until both
// arrived): one lands; the other, read again, finds that the version it
// read changed, and stops with the conflict error, pushing nothing.
func TestBumpSameAppConflict(t *testing.T) {
	for _, transport := range []string{"http", "file"} {
		t.Run(transport, func(t *testing.T) {
			r := newBumpRemote(t, nil)
			r.repo.WriteFile("web/current.conf", []byte(r.desiredFile("web", "1.0")))
			r.repo.Commit("web 1.0")
			r.repo.Git("push", "-q", r.bare, "HEAD:main")
			before := r.git("rev-parse", "main")
			r.holdPushes(2)
			args := [][]string{r.bumpArgs(transport, "web", "2.0"), r.bumpArgs(transport, "web", "2.1")}
			codes, errOuts := make([]int, 2), make([]string, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() { _, errOuts[i], codes[i] = runCLI(t, args[i]...) })
			}
			wg.Wait()
			won := -1
			for i := range 2 {
				if codes[i] == 0 {
					won = i
				}
			}
			lost := 1 - won
			switch {
			case won < 0 || codes[lost] != 1:
				t.Fatalf("exits %v, want one 0 and one 1: %q", codes, errOuts)
			case !strings.Contains(errOuts[lost], "another writer changed the same values") || !strings.Contains(errOuts[lost], "nothing pushed"):
				t.Errorf("the losing bump: %q, want the conflict error", errOuts[lost])
			}
			version := []string{"2.0", "2.1"}[won]
			if n := r.git("rev-list", "--count", before+"..main"); n != "1" {
				t.Errorf("commits on main: %s, want the winner's alone", n)
			}
			if got := r.git("log", "-1", "--format=%s", "main"); got != "web: 1.0 -> "+version {
				t.Errorf("main: %q, want the winner's bump to %s", got, version)
			}
		})
	}
}
