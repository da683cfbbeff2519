package testenv_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"sectorhub/infra/testenv"
)

func TestSESTargets(t *testing.T) {
	var names []string
	for _, target := range testenv.SESTargets(t) {
		names = append(names, target.Name)
		if (target.Outbox != nil) != (target.Name == "sescapture") {
			t.Errorf("SESTargets: %s has Outbox %v", target.Name, target.Outbox)
		}
	}
	want := []string{"sescapture"}
	if os.Getenv(testenv.EnvSESEndpoint) != "" {
		want = append(want, "moto")
	}
	if !slices.Equal(names, want) {
		t.Errorf("SESTargets = %v; want %v", names, want)
	}
}

func TestSESSend(t *testing.T) {
	const source = "bulletin@sectorhub.example.org"
	for _, target := range testenv.SESTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := context.Background()
			client := testenv.SESClient(t, target.Endpoint)
			testenv.VerifySender(t, target, source)
			before, err := client.GetSendQuota(ctx, &ses.GetSendQuotaInput{})
			if err != nil {
				t.Fatalf("GetSendQuota: %v", err)
			}
			out, err := client.SendEmail(ctx, &ses.SendEmailInput{
				Source:      aws.String(source),
				Destination: &types.Destination{ToAddresses: []string{"reader@example.org"}},
				Message: &types.Message{
					Subject: &types.Content{Data: aws.String("Light Lunch: test issue")},
					Body:    &types.Body{Text: &types.Content{Data: aws.String("Hello from the test.")}},
				},
			})
			if err != nil {
				t.Fatalf("SendEmail: %v", err)
			}
			if aws.ToString(out.MessageId) == "" {
				t.Error("SendEmail returned no MessageId")
			}
			after, err := client.GetSendQuota(ctx, &ses.GetSendQuotaInput{})
			if err != nil {
				t.Fatalf("GetSendQuota: %v", err)
			}
			// Other test packages may send through a shared moto_server at the same time, hence >=.
			if after.SentLast24Hours < before.SentLast24Hours+1 {
				t.Errorf("SentLast24Hours went from %v to %v; want at least one more", before.SentLast24Hours, after.SentLast24Hours)
			}
			if target.Outbox != nil {
				msgs := target.Outbox.Messages()
				if len(msgs) != 1 || msgs[0].Subject != "Light Lunch: test issue" || msgs[0].Source != source {
					t.Errorf("Outbox.Messages() = %+v; want the one message sent", msgs)
				}
			}
		})
	}
}
