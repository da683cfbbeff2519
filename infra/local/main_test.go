package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
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
	for _, want := range []string{"aws --endpoint-url http://127.0.0.1:", "s3 cp orgs.csv s3://sectorhub-prod-uploads-000000000000-eu-west-2/directory/orgs.csv", "/_local/outbox", "Ctrl-C to stop."} {
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

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v; want nil", err)
	}
	if t.Failed() {
		t.Logf("log:\n%s", stderr)
	}
}
