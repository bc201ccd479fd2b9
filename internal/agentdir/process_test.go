package agentdir

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary a child process doing one job (TestMain).
const childEnv = "AGENTDIR_TEST_CHILD"

func TestMain(m *testing.M) {
	if job := os.Getenv(childEnv); job != "" {
		if err := child(job); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs a job: "started DIR N" counts N starts of version 1; "install
// DIR SUM" installs version 2 from stdin.
func child(job string) error {
	f := strings.Fields(job)
	d, err := Open(f[1])
	if err != nil {
		return err
	}
	switch f[0] {
	case "started":
		n, _ := strconv.Atoi(f[2])
		for range n {
			if err := d.Started("1"); err != nil {
				return err
			}
		}
		return nil
	case "install":
		_, err := d.Install(context.Background(), "2", os.Stdin, f[2])
		return err
	}
	return fmt.Errorf("unknown job %q", job)
}

func childCmd(t *testing.T, job string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+job)
	return cmd
}

// TestLockAcrossProcesses: processes changing the record at once lose no
// change (the flock of DIR/lock orders their read-change-write).
func TestLockAcrossProcesses(t *testing.T) {
	d := openDir(t)
	const procs, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := childCmd(t, fmt.Sprintf("started %s %d", d.Path(), each)).CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := record(t, d).Starts; got.Version != "1" || got.Count != procs*each {
		t.Errorf("got %+v, want version 1 counted %d times", got, procs*each)
	}
}

// TestInstallKilled: an install SIGKILLed mid-copy leaves no binary in
// place and no install recorded; the next Install removes its temp file
// and installs the verified bytes.
func TestInstallKilled(t *testing.T) {
	d := openDir(t)
	data := bytes.Repeat([]byte("#!/bin/sh\n# padding\n"), 1<<16) // 1.3 MB, more than one copy buffer
	cmd := childCmd(t, fmt.Sprintf("install %s %s", d.Path(), sum(data)))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if _, err := in.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(d.Path(), "versions", "2")
	waitFor(t, "the temp file to hold half the bytes", func() bool {
		entries, _ := os.ReadDir(vdir)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), ".reconciler.tmp-") && fi.Size() > 0 {
				return true
			}
		}
		return false
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	mustExist(t, filepath.Join(vdir, Binary), false)
	if len(record(t, d).Installed) != 0 {
		t.Errorf("recorded installed after the kill: %v", record(t, d).Installed)
	}
	install(t, d, "2", data)
	entries, _ := os.ReadDir(vdir)
	if len(entries) != 1 || entries[0].Name() != Binary {
		t.Errorf("after the next install: %v, want only %s", entries, Binary)
	}
}

// waitFor polls cond until it holds or 20 s pass: another process's effect
// is the one wait a test cannot avoid.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStateWriterKilled: a writer of the record SIGKILLed at any moment
// leaves a record that reads (old or new, never half), and the next
// writer removes the temp file it may have left.
func TestStateWriterKilled(t *testing.T) {
	d := openDir(t)
	confirmed(t, d, "1")
	for i := range 20 {
		cmd := childCmd(t, fmt.Sprintf("started %s %d", d.Path(), 1000))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		before := record(t, d).Starts.Count
		waitFor(t, "the child to count starts", func() bool { return record(t, d).Starts.Count > before+i%7 })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		r := record(t, d) // fails the test if state.json does not read
		if len(r.Confirmed) != 1 || r.Starts.Version != "1" {
			t.Fatalf("kill %d: record %+v", i, r)
		}
	}
	if err := d.GoodPoll("1"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(d.Path())
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
