package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"sectorhub/infra/localstack/sescapture"
)

func TestSESFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "negative rate", args: []string{"--ses-max-send-rate", "-1"}, wantErr: "--ses-max-send-rate -1: want 0 or more"},
		{name: "negative day", args: []string{"--ses-max-24h-send", "-5"}, wantErr: "--ses-max-24h-send -5: want 0 or more"},
		{name: "negative keep", args: []string{"--ses-keep", "-2"}, wantErr: "--ses-keep -2: want 0 or more"},
		{name: "not a number", args: []string{"--ses-max-send-rate", "fast"}, wantErr: "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, noEnv, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run(%q) error = %v; want one containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// TestSESFlagDefaults checks the defaults -h prints: SES's default production limits and
// room for a whole dispatch.
func TestSESFlagDefaults(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, noEnv, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(-h) error = %v; want flag.ErrHelp", err)
	}
	usage := stderr.String()
	for _, want := range []string{"-ses-max-send-rate int", "(default 14)", "-ses-max-24h-send int", "(default 50000)", "-ses-keep int", "(default 60000)"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
}

func TestSESOptions(t *testing.T) {
	got, err := sesOptions(14, 50000, 60000)
	want := sescapture.Options{MaxSendRate: 14, Max24HourSend: 50000, MaxMessages: 60000}
	if err != nil || got.MaxSendRate != want.MaxSendRate || got.Max24HourSend != want.Max24HourSend || got.MaxMessages != want.MaxMessages || got.Now != nil {
		t.Errorf("sesOptions(14, 50000, 60000) = %+v, %v; want %+v", got, err, want)
	}
}
