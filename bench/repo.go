package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// makeRepo creates a bare deploy repo of n commits with about oldMiB of
// blobs that only old commits hold (binaries someone once committed and
// removed), using git fast-import: seconds, even at 10,000 commits.
// desired is the content of web/current.conf at the tip.
func makeRepo(dir string, n, oldMiB int, desired []byte) error {
	if err := runCmd("", "git", "init", "-q", "--bare", "-b", "main", dir); err != nil {
		return err
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	werr := writeHistory(w, n, oldMiB, desired)
	if err := w.Flush(); werr == nil {
		werr = err
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git fast-import: %w", err)
	}
	return werr
}

func writeHistory(w io.Writer, n, oldMiB int, desired []byte) error {
	blob := make([]byte, 1<<20)
	added := 0
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.invalid> %d +0000\n", 1_700_000_000+i)
		msg := fmt.Sprintf("bump %d", i)
		fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
		conf := fmt.Appendf(nil, `{"version":"0.%d","bin":{"path":"web/app"}}`, i)
		if i == n {
			conf = desired
		}
		fmt.Fprintf(w, "M 100644 inline web/current.conf\ndata %d\n%s\n", len(conf), conf)
		// Spread oldMiB one-MiB incompressible blobs over commits 1..n-1.
		for i < n && added < oldMiB*i/max(n-1, 1) {
			if _, err := rand.Read(blob); err != nil {
				return err
			}
			fmt.Fprintf(w, "M 100644 inline old/blob-%d\ndata %d\n", added, len(blob))
			w.Write(blob)
			io.WriteString(w, "\n")
			added++
		}
		if i == n {
			app := "#!/bin/sh\necho bench\n"
			fmt.Fprintf(w, "M 100755 inline web/app\ndata %d\n%s\nD old\n", len(app), app)
		}
		io.WriteString(w, "\n")
	}
	return nil
}

func runCmd(dir string, name string, args ...string) error {
	return runCmdContext(context.Background(), dir, name, args...)
}

// runCmdContext runs a command in dir, killed when ctx ends; its error
// carries the command's output.
func runCmdContext(ctx context.Context, dir string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second // git's own children may hold the output pipe open
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
