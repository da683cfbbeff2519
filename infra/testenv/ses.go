package testenv

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"sectorhub/infra/localstack/sescapture"
)

// SESTarget is one SES-compatible server a mail test runs against.
type SESTarget struct {
	Name     string // "sescapture" or "moto"; the subtest's name
	Endpoint string // http://127.0.0.1:port
	// Outbox holds what the in-process capture received; nil for moto, whose messages a test
	// can only count (GetSendQuota's SentLast24Hours).
	Outbox *sescapture.Outbox
}

// SESTargets returns the in-process SES capture (always; started for this call and closed by
// tb.Cleanup) and moto_server when SECTORHUB_TEST_SES_ENDPOINT is set.
func SESTargets(tb testing.TB) []SESTarget {
	tb.Helper()
	outbox := sescapture.New()
	srv := httptest.NewServer(outbox)
	tb.Cleanup(srv.Close)
	targets := []SESTarget{{Name: "sescapture", Endpoint: srv.URL, Outbox: outbox}}
	if endpoint := emulatorEndpoint(tb, EnvSESEndpoint); endpoint != "" {
		targets = append(targets, SESTarget{Name: "moto", Endpoint: endpoint})
	}
	return targets
}

// SESClient returns an SDK SES client for endpoint, its aws.Config built by hand.
func SESClient(tb testing.TB, endpoint string) *ses.Client {
	tb.Helper()
	return ses.NewFromConfig(awsConfig(), func(o *ses.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// VerifySender makes address a verified identity on target, as SES requires of a Source in
// the sandbox and moto always does; the capture accepts any Source, so there it does nothing.
func VerifySender(tb testing.TB, target SESTarget, address string) {
	tb.Helper()
	if target.Outbox != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := SESClient(tb, target.Endpoint).VerifyEmailIdentity(ctx, &ses.VerifyEmailIdentityInput{EmailAddress: aws.String(address)})
	if err != nil {
		tb.Fatalf("verify %s on %s: %v", address, target.Name, err)
	}
}
