package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sectorhub/infra/localstack/staffauth"
	"sectorhub/infra/testenv"
)

// isolateCache points the user cache (staff key, build directory) at a
// temporary directory, keeping Go's own build cache where it is.
func isolateCache(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		tb.Fatalf("go env GOCACHE: %v", err)
	}
	tb.Setenv("GOCACHE", strings.TrimSpace(string(out)))
	dir := tb.TempDir()
	tb.Setenv("XDG_CACHE_HOME", dir)
	return dir
}

func noEnv(string) string { return "" }

func TestTokenCommand(t *testing.T) {
	isolateCache(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"token", "--email", "staff@example.org", "--ttl", "1h"}, noEnv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("token: %v (stderr %s)", err, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
	keyPath, err := staffauth.DefaultKeyPath()
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := staffauth.LoadOrCreate(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	claims, _, err := issuer.Verify("Bearer "+token, "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_sectorhublocal", []string{"sectorhublocalclient"}, time.Now())
	if err != nil {
		t.Fatalf("Verify(printed token): %v", err)
	}
	if claims["email"] != "staff@example.org" {
		t.Errorf("email claim = %q", claims["email"])
	}

	stdout.Reset()
	if err := run(context.Background(), []string{"token"}, noEnv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--email is required") {
		t.Errorf("token without --email = %v; want an error naming --email", err)
	}
}

func TestBusyPort(t *testing.T) {
	isolateCache(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	addr := ln.Addr().String()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"--addr", addr, "--s3-addr", "127.0.0.1:0", "--ses-addr", "127.0.0.1:0"}, noEnv, &stdout, &stderr)
	want := "listen " + addr + ": address already in use (is another local stack running? use --addr)"
	if err == nil || err.Error() != want {
		t.Errorf("run = %v; want %q", err, want)
	}
}

func TestBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--no-such-flag"}, noEnv, &stdout, &stderr); err == nil {
		t.Error("run with an unknown flag succeeded")
	}
	if err := run(context.Background(), []string{"serve"}, noEnv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), `unexpected argument "serve"`) {
		t.Errorf("run serve = %v; want unexpected argument", err)
	}
}

// bannerWriter signals when the banner's last line has been written.
type bannerWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), "Ctrl-C to stop.") {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

func (w *bannerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestRunServesTheProduct starts the real stack with the real template and
// functions, seeded, searches the directory, and stops it.
func TestRunServesTheProduct(t *testing.T) {
	isolateCache(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &bannerWriter{ready: make(chan struct{})}
	stderr := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--ses-addr", "127.0.0.1:0"}, noEnv, stdout, stderr)
	}()
	select {
	case <-stdout.ready:
	case err := <-done:
		t.Fatalf("run ended before the banner: %v\n%s", err, stderr)
	}
	banner := stdout.String()
	api := regexp.MustCompile(`HTTP API\s+(http://\S+)`).FindStringSubmatch(banner)
	token := regexp.MustCompile(`TOKEN=(\S+)`).FindStringSubmatch(banner)
	if api == nil || token == nil {
		t.Fatalf("banner lacks the API URL or the token:\n%s", banner)
	}
	for _, want := range []string{"aws --endpoint-url http://127.0.0.1:", "s3 cp infra/seed/uploads/10-directory/sample-directory.csv s3://sectorhub-prod-uploads-000000000000-eu-west-2/directory/sample-directory.csv", "/_local/outbox", "Ctrl-C to stop."} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	resp, err := http.Get(api[1] + "/directory/organisations?q=housing")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page struct {
		Total int `json:"total"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &page) != nil || page.Total == 0 {
		t.Errorf("search of the seeded directory = %d %s; want results", resp.StatusCode, body)
	}

	// Every curl line of the banner works as printed.
	curls := regexp.MustCompile(`curl '(http://\S+)'`).FindAllStringSubmatch(banner, -1)
	if len(curls) < 2 {
		t.Errorf("banner has %d public curl examples; want the search and the organisation routes:\n%s", len(curls), banner)
	}
	for _, m := range curls {
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("banner's curl %s = %d; want 200", m[1], resp.StatusCode)
		}
	}

	req, _ := http.NewRequest("GET", api[1]+"/staff/imports", nil)
	req.Header.Set("Authorization", "Bearer "+token[1])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("staff route with the banner's token = %d; want 200", resp.StatusCode)
	}

	// The banner's upload without the AWS CLI works as printed (a plain PUT).
	put := regexp.MustCompile(`curl -X PUT --data-binary @infra/seed/uploads/10-directory/sample-directory.csv (http://\S+/directory/sample-directory.csv)`).FindStringSubmatch(banner)
	if put == nil {
		t.Errorf("banner lacks the curl upload:\n%s", banner)
	} else {
		req, _ := http.NewRequest(http.MethodPut, put[1], strings.NewReader("id,name,summary,regions\nzephyr,Zephyr,Housing,london\n"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("banner's curl upload = %d; want 200", resp.StatusCode)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v; want nil", err)
	}
	if log := stderr.String(); !strings.HasSuffix(log, "stack | stopped\n") || strings.Count(log, "stack | stopped") != 1 {
		t.Errorf("the log does not end with one stopped line")
	}
	if t.Failed() {
		t.Logf("log:\n%s", stderr)
	}
}

// TestStopIsClean runs the command as people do, with `go run`, scales a function out, and
// stops it as a terminal's Ctrl-C does (SIGINT to the process group: `go run` ignores it and the
// launcher stops) and as a process manager does (SIGTERM to `go run`, which dies at once without
// passing it on). Either way the launcher stops, its log ends with one "stopped" line, and no
// function process complains on the way out.
func TestStopIsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole stack twice")
	}
	root := testenv.RepoRoot(t)
	cache := isolateCache(t) // one build directory for both runs
	tests := []struct {
		name string
		stop func(goRun int) error
	}{
		{"Ctrl-C", func(goRun int) error { return syscall.Kill(-goRun, syscall.SIGINT) }},
		{"SIGTERM to go run", func(goRun int) error { return syscall.Kill(goRun, syscall.SIGTERM) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("go", "run", "./infra/local", "--addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--ses-addr", "127.0.0.1:0")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground group
			stdout := &bannerWriter{ready: make(chan struct{})}
			stderr := &testenv.Buffer{}
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }() // returns once the launcher, too, has closed the output
			t.Cleanup(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				if t.Failed() {
					t.Logf("log:\n%s", stderr)
				}
			})
			select {
			case <-stdout.ready:
			case err := <-exited:
				t.Fatalf("go run ended before the banner: %v\n%s", err, stderr)
			}
			api := regexp.MustCompile(`HTTP API\s+(http://\S+)`).FindStringSubmatch(stdout.String())
			if api == nil {
				t.Fatalf("banner lacks the API URL:\n%s", stdout)
			}
			// Scale out: concurrent searches start several instances of the function.
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() {
					resp, err := http.Get(api[1] + "/directory/organisations?q=housing")
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
				})
			}
			wg.Wait()
			if err := tt.stop(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(2 * time.Minute): // a guard against a hang, not a measure
				t.Fatalf("the launcher had not stopped 2 minutes after the signal")
			}
			log := stderr.String()
			if !strings.HasSuffix(log, "stack | stopped\n") || strings.Count(log, "stopped") != 1 {
				t.Errorf("the log does not end with one stopped line")
			}
			for _, noise := range []string{"failed to GET", "process exited", "exit status", "status code: 410"} {
				if strings.Contains(log, noise) {
					t.Errorf("the log has %q", noise)
				}
			}
			if _, err := net.Dial("tcp", strings.TrimPrefix(api[1], "http://")); err == nil {
				t.Errorf("the HTTP API still accepts connections after the stop")
			}
		})
	}
}
