package main

import (
	"runtime"
	"testing"
	"time"
)

func TestStartTicks(t *testing.T) {
	tail := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21\n"
	tests := []struct {
		name, stat string
		want       uint64
		wantErr    bool
	}{
		{"plain", "1234 (local)" + tail, 424242, false},
		{"name with spaces and parentheses", "1234 (a) b (c d)" + tail, 424242, false},
		{"no name", "1234 local" + tail, 0, true},
		{"too short", "1234 (local) S 1 2", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := startTicks([]byte(tt.stat))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("startTicks(%q) = %d, %v; want %d (error %v)", tt.stat, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestIsGoRun(t *testing.T) {
	tests := []struct {
		cmdline string
		want    bool
	}{
		{"go\x00run\x00./infra/local\x00", true},
		{"/usr/local/go/bin/go\x00run\x00./infra/local\x00--addr\x00:3000\x00", true},
		{"go\x00test\x00./infra/local\x00", false},
		{"/bin/bash\x00", false},
		{"gopls\x00run\x00", false},
	}
	for _, tt := range tests {
		if got := isGoRun([]byte(tt.cmdline)); got != tt.want {
			t.Errorf("isGoRun(%q) = %v; want %v", tt.cmdline, got, tt.want)
		}
	}
}

func TestCommandStarted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	now := time.Now()
	s, ok := commandStarted(now)
	if !ok || !s.process.Before(now) || s.process.Before(now.Add(-time.Hour)) {
		t.Errorf("commandStarted = %+v, %v; want this test process's start, before now", s, ok)
	}
	if !s.goRun.IsZero() {
		t.Errorf("goRun = %v; want zero (a test's parent is go test, not go run)", s.goRun)
	}
}

func TestReadyText(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	tests := []struct {
		name     string
		s        started
		measured bool
		want     string
	}{
		{"under go run", started{goRun: at(0), process: at(37.5)}, true,
			"ready in 92.0 s since `go run` started (38.0 s compiling and starting this launcher, 54.0 s building the functions and starting the stack)"},
		{"a built binary", started{process: at(37.5)}, true, "ready in 54.5 s since this process started"},
		{"no /proc", started{}, false, "ready in 54.0 s since this process started (the launcher's own compile by `go run` is not counted)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readyText(tt.s, tt.measured, at(38), at(92)); got != tt.want {
				t.Errorf("readyText = %q;\nwant %q", got, tt.want)
			}
		})
	}
}
