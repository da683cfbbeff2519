package main

import "syscall"

// emulatorProcAttr puts an emulator in its own process group (so stopping it stops whatever it
// started) and has the kernel kill it if this process dies without stopping it.
func emulatorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// commandProcAttr leaves the command in this process group (a terminal's Ctrl-C reaches it)
// and has the kernel send it SIGTERM if this process dies before it.
func commandProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
