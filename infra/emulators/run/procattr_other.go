//go:build unix && !linux

package main

import "syscall"

// emulatorProcAttr puts an emulator in its own process group, so stopping it stops whatever it
// started.
func emulatorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// commandProcAttr leaves the command in this process group, so a terminal's Ctrl-C reaches it.
func commandProcAttr() *syscall.SysProcAttr {
	return nil
}
