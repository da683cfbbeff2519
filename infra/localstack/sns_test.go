package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
)

// snsSeen returns the SNS events the test function recorded under sns-seen/, by request ID,
// decoded as aws-lambda-go decodes them.
func snsSeen(tb testing.TB, st *testStack) map[string]events.SNSEvent {
	tb.Helper()
	out := map[string]events.SNSEvent{}
	for id, raw := range snsSeenRaw(tb, st) {
		var ev events.SNSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
		out[id] = ev
	}
	return out
}

// snsSeenRaw returns the SNS events the test function recorded under sns-seen/, by request ID.
func snsSeenRaw(tb testing.TB, st *testStack) map[string][]byte {
	tb.Helper()
	ctx := context.Background()
	client := st.S3Client()
	bucket := st.Bucket("Uploads")
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("sns-seen/")})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, obj := range list.Contents {
		got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: obj.Key})
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(*obj.Key, "sns-seen/"), ".json")] = raw
	}
	return out
}

// sesFeedback is what the tests read of an SES event record.
type sesFeedback struct {
	EventType string `json:"eventType"`
	Bounce    *struct {
		BounceType        string `json:"bounceType"`
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Mail struct {
		MessageID   string              `json:"messageId"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
}

// TestSimulatorFeedbackReachesSubscribers: mail sent with the template's configuration set to
// the mailbox simulator's bounce and complaint addresses gives one SNS notification of each,
// in SES's and SNS's shapes, to every function subscribed to the topic of the set's enabled,
// matching event destination (once, though a disabled and a delivery-only destination name the
// same topic), asynchronously but before Drain returns; other mail gives none.
func TestSimulatorFeedbackReachesSubscribers(t *testing.T) {
	st := startStack(t, testOptions(t))
	ctx := context.Background()
	set, topic := st.Names()["MailConfigurationSet"], st.Names()["FeedbackTopic"]
	if set != "stack-test" || topic != "arn:aws:sns:eu-west-2:000000000000:sectorhub-local-FeedbackTopic" {
		t.Fatalf("configuration set %q, topic %q; want stack-test and the topic's ARN", set, topic)
	}
	client := ses.New(ses.Options{Region: "eu-west-2", BaseEndpoint: aws.String(st.SESURL()), Credentials: localCredentials})
	to := []string{"ada@example.org", "bounce+ada@simulator.amazonses.com", "complaint@simulator.amazonses.com", "success@simulator.amazonses.com"}
	send := func(set *string, to ...string) (string, error) {
		raw := "From: Light Lunch <news@example.org>\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: Light Lunch\r\n\r\nHello.\r\n"
		out, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &sestypes.RawMessage{Data: []byte(raw)}, ConfigurationSetName: set})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.MessageId), nil
	}
	before := time.Now()
	id, err := send(aws.String(set), to...)
	if err != nil {
		t.Fatalf("SendRawEmail: %v", err)
	}
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := snsSeen(t, st)
	if len(got) != 4 {
		t.Fatalf("%d SNS invocations recorded; want 4 (a bounce and a complaint, to FeedbackFunction and ManualFunction)", len(got))
	}
	byType := map[string][]events.SNSEventRecord{}
	for reqID, ev := range got {
		if len(ev.Records) != 1 {
			t.Fatalf("invocation %s has %d records; want 1", reqID, len(ev.Records))
		}
		r := ev.Records[0]
		n := r.SNS
		if r.EventSource != "aws:sns" || r.EventVersion != "1.0" || !strings.HasPrefix(r.EventSubscriptionArn, topic+":") ||
			n.Type != "Notification" || n.TopicArn != topic || n.Subject != "Amazon SES Email Event Notification" || n.MessageID == "" ||
			n.SignatureVersion != "1" || n.Signature == "" || n.SigningCertURL == "" || !strings.Contains(n.UnsubscribeURL, "SubscriptionArn="+r.EventSubscriptionArn) ||
			n.Timestamp.Before(before.Add(-time.Second)) || n.Timestamp.After(time.Now()) {
			t.Errorf("record %+v; want an SNS notification of %s, as SNS delivers it", r, topic)
		}
		var fb sesFeedback
		if err := json.Unmarshal([]byte(n.Message), &fb); err != nil {
			t.Fatalf("Message %q: %v", n.Message, err)
		}
		if fb.Mail.MessageID != id || !slices.Equal(fb.Mail.Destination, to) || !slices.Equal(fb.Mail.Tags["ses:configuration-set"], []string{set}) {
			t.Errorf("%s event's mail = %+v; want mail %s to %v sent with %s", fb.EventType, fb.Mail, id, to, set)
		}
		switch fb.EventType {
		case "Bounce":
			if fb.Bounce == nil || fb.Bounce.BounceType != "Permanent" || len(fb.Bounce.BouncedRecipients) != 1 || fb.Bounce.BouncedRecipients[0].EmailAddress != "bounce+ada@simulator.amazonses.com" {
				t.Errorf("bounce = %+v; want a permanent bounce of bounce+ada@simulator.amazonses.com", fb.Bounce)
			}
		case "Complaint":
			if fb.Complaint == nil || fb.Complaint.ComplaintFeedbackType != "abuse" || len(fb.Complaint.ComplainedRecipients) != 1 || fb.Complaint.ComplainedRecipients[0].EmailAddress != "complaint@simulator.amazonses.com" {
				t.Errorf("complaint = %+v; want an abuse complaint of complaint@simulator.amazonses.com", fb.Complaint)
			}
		default:
			t.Errorf("eventType %q; want Bounce or Complaint", fb.EventType)
		}
		byType[fb.EventType] = append(byType[fb.EventType], r)
	}
	for typ, recs := range byType {
		// One publish, two subscriptions: the same message, each subscription's own ARN.
		if len(recs) != 2 || recs[0].SNS.MessageID != recs[1].SNS.MessageID || recs[0].EventSubscriptionArn == recs[1].EventSubscriptionArn {
			t.Errorf("%s: %d records; want 2 of one message (its MessageId) through two subscriptions", typ, len(recs))
		}
	}
	if st.AsyncFailures() != 0 {
		t.Errorf("AsyncFailures = %d; want 0", st.AsyncFailures())
	}

	// Without a configuration set, SES publishes nothing; an unknown set is refused.
	if _, err := send(nil, "bounce@simulator.amazonses.com"); err != nil {
		t.Fatal(err)
	}
	_, err = send(aws.String("stack-prod"), "bounce@simulator.amazonses.com")
	if apiErr, ok := errors.AsType[smithy.APIError](err); !ok || apiErr.ErrorCode() != "ConfigurationSetDoesNotExist" {
		t.Errorf("send with an unknown configuration set: %v; want ConfigurationSetDoesNotExist", err)
	}
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(snsSeen(t, st)); n != 4 {
		t.Errorf("%d SNS invocations after mail without a set; want still 4", n)
	}
	r := do(t, "GET", st.URL()+"/_local/outbox.json?fields=id,configuration_set&limit=2", nil, nil)
	var listing struct {
		Messages []map[string]string `json:"messages"`
	}
	if err := json.Unmarshal(r.body, &listing); err != nil || len(listing.Messages) != 2 || listing.Messages[1]["id"] != id || listing.Messages[1]["configuration_set"] != set || listing.Messages[0]["configuration_set"] != "" {
		t.Errorf("outbox.json = %s; want the two messages, the first sent with %s", r.body, set)
	}
}

// TestPublishSNS: a message published by hand to a topic reaches its subscribers, with the
// subject given (none: null, as SNS sends it); an unknown topic is a 404.
func TestPublishSNS(t *testing.T) {
	st := startStack(t, testOptions(t))
	tests := []struct {
		name, path, body string
		wantStatus       int
		wantBody         string
	}{
		{"with a subject", "/_local/sns/FeedbackTopic?subject=Hello", `{"hello": "world"}`, 200, `{"invocations":2}`},
		{"unknown topic", "/_local/sns/NoTopic", `x`, 404, `{"message":"publish to NoTopic: no such AWS::SNS::Topic in the template"}`},
		{"GET", "/_local/sns/FeedbackTopic", ``, 405, `{"message":"use POST with the message as the body"}`},
	}
	for _, tt := range tests {
		method := "POST"
		if tt.name == "GET" {
			method = "GET"
		}
		r := do(t, method, st.URL()+tt.path, strings.NewReader(tt.body), nil)
		if r.status != tt.wantStatus || strings.TrimSpace(string(r.body)) != tt.wantBody {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, method, tt.path, r.status, r.body, tt.wantStatus, tt.wantBody)
		}
	}
	if n, err := st.PublishSNS("FeedbackTopic", "", "plain"); err != nil || n != 2 {
		t.Fatalf("PublishSNS = %d, %v; want 2 invocations", n, err)
	}
	if err := st.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	for _, raw := range snsSeenRaw(t, st) {
		var ev struct {
			Records []struct {
				Sns struct {
					Subject *string
					Message string
				}
			}
		}
		if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("recorded event %s: %v; want one record", raw, err)
		}
		n := ev.Records[0].Sns
		subject := "null"
		if n.Subject != nil {
			subject = *n.Subject
		}
		subjects[subject+"|"+n.Message]++
	}
	if want := map[string]int{`Hello|{"hello": "world"}`: 2, "null|plain": 2}; !maps.Equal(subjects, want) {
		t.Errorf("recorded subject|message counts %v; want %v", subjects, want)
	}
}
