package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of a process's start time in /proc/<pid>/stat: 100
// on every architecture Go supports.
const clockTicks = 100

// started is when the command the user typed started, as far as it can be measured.
type started struct {
	process time.Time // when this process started
	goRun   time.Time // when the `go run` that compiled and started it did; zero if it did not
}

// commandStarted reads the start times of this process and, if its parent is `go run`, of
// the parent, from /proc. ok is false where /proc cannot tell (not Linux).
func commandStarted(now time.Time) (s started, ok bool) {
	uptime, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return s, false
	}
	fields := strings.Fields(string(uptime))
	if len(fields) == 0 {
		return s, false
	}
	up, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, false
	}
	at := func(pid int) (time.Time, error) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return time.Time{}, err
		}
		ticks, err := startTicks(stat)
		if err != nil {
			return time.Time{}, err
		}
		ago := time.Duration((up - float64(ticks)/clockTicks) * float64(time.Second))
		return now.Add(-ago), nil
	}
	if s.process, err = at(os.Getpid()); err != nil {
		return s, false
	}
	ppid := os.Getppid()
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid)); err == nil && isGoRun(cmdline) {
		if t, err := at(ppid); err == nil {
			s.goRun = t
		}
	}
	return s, true
}

// startTicks returns the start time field (the 22nd) of a /proc/<pid>/stat line, in clock
// ticks since boot. The second field, the command name in parentheses, may hold spaces and
// parentheses itself: the fields are counted from the last ')'.
func startTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat line")
	}
	fields := strings.Fields(string(stat[i+1:]))
	const startTime = 22 - 3 // fields[0] is the 3rd field
	if len(fields) <= startTime {
		return 0, errors.New("malformed /proc stat line")
	}
	return strconv.ParseUint(fields[startTime], 10, 64)
}

// isGoRun reports whether a /proc/<pid>/cmdline is a `go run` command.
func isGoRun(cmdline []byte) bool {
	args := strings.Split(string(cmdline), "\x00")
	return len(args) >= 2 && filepath.Base(args[0]) == "go" && args[1] == "run"
}

// readyText says how long the stack took to be ready, from the earliest start it can measure,
// and what that counts.
func readyText(s started, measured bool, began, now time.Time) string {
	switch {
	case measured && !s.goRun.IsZero():
		return fmt.Sprintf("ready in %.1f s since `go run` started (%.1f s compiling and starting this launcher, %.1f s building the functions and starting the stack)",
			now.Sub(s.goRun).Seconds(), began.Sub(s.goRun).Seconds(), now.Sub(began).Seconds())
	case measured:
		return fmt.Sprintf("ready in %.1f s since this process started", now.Sub(s.process).Seconds())
	default:
		return fmt.Sprintf("ready in %.1f s since this process started (the launcher's own compile by `go run` is not counted)", now.Sub(began).Seconds())
	}
}

// errGoRunGone ends the stack when the `go run` that started it has exited: a process manager
// stopping `go run ./infra/local` sends SIGTERM to `go run`, which dies at once without
// passing the signal on (it passes on nothing; a terminal's Ctrl-C reaches both).
var errGoRunGone = errors.New("`go run` has exited")

// cancelWhenGoRunGone cancels ctx with errGoRunGone once this process's parent, `go run`,
// has exited (this process is then adopted by another).
func cancelWhenGoRunGone(ctx context.Context, cancel context.CancelCauseFunc) {
	ppid := os.Getppid()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != ppid {
				cancel(errGoRunGone)
				return
			}
		}
	}
}
