package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// HoldsPidfd reports whether process holder has a pidfd open on pid (its
// /proc/HOLDER/fdinfo says "Pid: PID"): a test knows a watch has begun
// before it makes the watched process exit.
func HoldsPidfd(holder, pid int) bool {
	infos, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", holder))
	want := fmt.Sprintf("Pid:\t%d\n", pid)
	for _, f := range infos {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), want) {
			return true
		}
	}
	return false
}
