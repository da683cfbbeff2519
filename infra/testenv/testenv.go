// Package testenv gives storage and mail tests the servers they run against: the embedded,
// in-process emulators always, and the third-party emulators (DynamoDB Local, moto_server) too
// when `make test` has started them (go run ./infra/emulators/run sets
// SECTORHUB_TEST_DYNAMODB_ENDPOINT and SECTORHUB_TEST_SES_ENDPOINT). So plain `go test ./...`
// needs nothing installed, and `make test` runs the same tests against the real emulators.
//
// Every server started here listens on 127.0.0.1 on a free port and stops with the test
// (tb.Cleanup); every table has a name of its own, so parallel tests and test packages sharing
// one DynamoDB Local never see each other's data. Import it from _test.go files only.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"sectorhub/infra/emulators"
)

// Environment variables naming the third-party emulators; set by infra/emulators/run.
const (
	EnvDynamoDBEndpoint = emulators.EnvDynamoDBEndpoint
	EnvSESEndpoint      = emulators.EnvSESEndpoint
)

// emulatorEndpoint returns the endpoint in variable name, failing tb when `make test` said the
// emulators are running but this one is missing.
func emulatorEndpoint(tb testing.TB, name string) string {
	tb.Helper()
	endpoint := os.Getenv(name)
	if endpoint == "" && os.Getenv(emulators.EnvRequired) != "" {
		tb.Fatalf("%s is set but %s is not: the emulator runner did not pass its endpoint", emulators.EnvRequired, name)
	}
	return endpoint
}

// Region and credentials of every client made here. Emulators accept any; these match the
// local stack's.
const (
	Region    = "eu-west-2"
	AccessKey = "local"
	SecretKey = "local"
)

var repoRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
})

// RepoRoot finds the directory holding go.mod by walking up from the working directory (a
// test's working directory is its package's).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("find the repository root (go.mod above the working directory): %v", err)
	}
	return root
}

// DynamoDBLocal returns DynamoDB Local's endpoint under `make test`, or "" when it is not
// running (plain `go test`).
func DynamoDBLocal(tb testing.TB) string {
	tb.Helper()
	return emulatorEndpoint(tb, EnvDynamoDBEndpoint)
}

// RunInTempDir is for TestMain: it sets *dir to a new temporary directory (named with prefix),
// runs the package's tests, removes the directory and returns the exit code for os.Exit.
func RunInTempDir(m *testing.M, prefix string, dir *string) int {
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	*dir = d
	return m.Run()
}

// WriteFiles writes files (path relative to dir → content) under dir, making directories.
func WriteFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
