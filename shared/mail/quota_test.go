package mail_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/testenv"
	"sectorhub/shared/mail"
)

func TestSESMaxSendRate(t *testing.T) {
	tests := []struct {
		name string
		opts sescapture.Options
		want float64
	}{
		{name: "SES's default production rate", opts: sescapture.Options{MaxSendRate: 14, Max24HourSend: 50000}, want: 14},
		{name: "the sandbox's rate", opts: sescapture.Options{MaxSendRate: 1}, want: 1},
		{name: "no limit (SES answers -1)", opts: sescapture.Options{}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(sescapture.NewWithOptions(tc.opts))
			t.Cleanup(srv.Close)
			got, err := mail.NewSES(sesEnv(srv.URL)).MaxSendRate(context.Background())
			if err != nil || got != tc.want {
				t.Errorf("MaxSendRate() = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestSESMaxSendRateEmulators asks every SES emulator (moto under `make test` answers its
// own fixed quota): each reports a rate, none an error.
func TestSESMaxSendRateEmulators(t *testing.T) {
	for _, target := range testenv.SESTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			got, err := mail.NewSES(sesEnv(target.Endpoint)).MaxSendRate(context.Background())
			if err != nil || got < 0 {
				t.Errorf("MaxSendRate() = %v, %v; want a rate of 0 (none) or more", got, err)
			}
			if target.Outbox == nil && got <= 0 {
				t.Errorf("MaxSendRate() = %v from %s; want its positive rate", got, target.Name)
			}
		})
	}
}

func TestSESMaxSendRateError(t *testing.T) {
	got, err := mail.NewSES(sesEnv(closedPort(t))).MaxSendRate(context.Background())
	if err == nil {
		t.Fatalf("MaxSendRate() = %v, nil; want an error", got)
	}
	if code, temp := mail.Code(err), mail.Temporary(err); code != "dial" || !temp {
		t.Errorf("Code, Temporary(%v) = %s, %v; want dial, true", err, code, temp)
	}
	if want := "ses: GetSendQuota: dial"; err.Error() != want {
		t.Errorf("MaxSendRate() error = %q; want %q", err, want)
	}
}
