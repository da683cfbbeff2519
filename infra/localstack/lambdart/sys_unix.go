//go:build unix && !linux

package lambdart

import "syscall"

// sysProcAttr puts each process in its own process group; outside Linux
// there is no parent-death signal, so a killed stack may leave processes.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }
