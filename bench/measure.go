package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// sample is one measured run.
type sample struct {
	wall, cpu time.Duration
	rssKiB    int64 // peak RSS of the measured process tree
}

// gnuTime is GNU time, used to read peak RSS. Go starts children with
// vfork (CLONE_VM), and the kernel then charges the PARENT's high-water RSS
// to the child at exec: wait4's ru_maxrss of a process started from Go is
// never below the bench's own RSS. GNU time starts the command with a plain
// fork, so its figure starts from time's own ~1 MiB.
const gnuTime = "/usr/bin/time"

// runProc runs a command and measures wall time, CPU (user+system, with the
// descendants it waited for) and peak RSS.
func runProc(dir string, name string, args ...string) (sample, error) {
	statFile, err := os.CreateTemp("", "bench-rusage-")
	if err != nil {
		return sample{}, err
	}
	statFile.Close()
	defer os.Remove(statFile.Name())
	useTime := fileExists(gnuTime)
	cmd := exec.Command(name, args...)
	if useTime {
		cmd = exec.Command(gnuTime, append([]string{"-f", "%M", "-o", statFile.Name(), name}, args...)...)
	}
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	s := sample{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if useTime {
		data, _ := os.ReadFile(statFile.Name())
		fmt.Sscan(string(data), &s.rssKiB)
	} else {
		s.rssKiB = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	}
	return s, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(filepath.Clean(p))
	return err == nil
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stat is the median with the min and max of several runs.
type stat struct{ med, min, max float64 }

func summarize(xs []float64) stat {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return stat{}
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med: med, min: s[0], max: s[len(s)-1]}
}

func (s stat) String(unit string) string {
	return fmt.Sprintf("%s %s (%s–%s)", num(s.med), unit, num(s.min), num(s.max))
}

// num prints 3 significant digits, without an exponent.
func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
