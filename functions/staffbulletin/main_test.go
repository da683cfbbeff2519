package main

import (
	"context"
	"testing"
)

// TestRunNeedsItsEnvironment checks that the function fails at start, naming every missing
// variable, rather than at its first request.
func TestRunNeedsItsEnvironment(t *testing.T) {
	err := run(context.Background(), func(string) string { return "" })
	want := "missing environment variable(s): TABLE_NAME, SENDER_ADDRESS, SITE_URL"
	if err == nil || err.Error() != want {
		t.Fatalf("run with no environment = %v; want %q", err, want)
	}
}
