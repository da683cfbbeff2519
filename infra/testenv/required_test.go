package testenv

import (
	"fmt"
	"runtime"
	"testing"

	"sectorhub/infra/emulators"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends the goroutine, as
// the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestRequiredEmulatorMissing: under make test (EnvRequired set), a missing endpoint fails the
// test instead of quietly testing the embedded emulators only.
func TestRequiredEmulatorMissing(t *testing.T) {
	t.Setenv(emulators.EnvRequired, "1")
	t.Setenv(EnvDynamoDBEndpoint, "")
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		emulatorEndpoint(rec, EnvDynamoDBEndpoint)
	}()
	<-done
	if rec.msg == "" {
		t.Fatal("emulatorEndpoint with the emulators required and no endpoint did not fail")
	}

	t.Setenv(EnvDynamoDBEndpoint, "http://127.0.0.1:1")
	if got := emulatorEndpoint(t, EnvDynamoDBEndpoint); got != "http://127.0.0.1:1" {
		t.Fatalf("emulatorEndpoint = %q; want the endpoint", got)
	}
}
