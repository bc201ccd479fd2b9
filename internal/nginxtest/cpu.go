package nginxtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPU is the CPU nginx has used so far: its master's and every live
// child's (the worker, the cache manager and loader), from /proc
// (utime + stime, and the master's reaped children's).
func (s *Server) CPU() time.Duration {
	master := s.cmd.Process.Pid
	total := procTicks(master, true)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pid != master && parentOf(pid) == master {
			total += procTicks(pid, false)
		}
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}

// statFields are /proc/PID/stat's fields after the command's ")": [0]
// is the state, [1] the parent, [11..14] utime, stime, cutime, cstime.
func statFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func parentOf(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func procTicks(pid int, withChildren bool) int64 {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	idx := []int{11, 12}
	if withChildren {
		idx = append(idx, 13, 14)
	}
	var total int64
	for _, i := range idx {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		total += v
	}
	return total
}
