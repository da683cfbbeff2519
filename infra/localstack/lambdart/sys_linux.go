package lambdart

import "syscall"

// sysProcAttr puts each process in its own process group (so a terminal's
// Ctrl-C reaches only the stack, which then ends its processes) and has the
// kernel SIGKILL it if the stack dies, even by kill -9: no orphans.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }
