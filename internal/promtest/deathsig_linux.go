package promtest

import "syscall"

// sysProcAttr kills Prometheus when the test binary that started it dies
// (a timeout's panic skips every Cleanup).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
