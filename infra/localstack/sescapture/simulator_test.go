package sescapture

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
)

// rawTo is a small message to the addresses to.
func rawTo(to ...string) []byte {
	return []byte("From: Light Lunch <news@sectorhub.example>\r\nTo: " + strings.Join(to, ", ") +
		"\r\nSubject: =?UTF-8?Q?Light_Lunch_=E2=80=94_this_week?=\r\nDate: Tue, 01 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n\r\nHello.\r\n")
}

// TestConfigurationSetRecorded: the configuration set a message is sent with is kept with it and
// listed as configuration_set, beside the listing's other fields, unchanged.
func TestConfigurationSetRecorded(t *testing.T) {
	o := New()
	srv := startServer(t, o)
	client := newClient(t, srv)
	ctx := context.Background()
	tests := []struct {
		name string
		set  *string
		raw  bool
		want string
	}{
		{"raw with a set", aws.String("sectorhub-local"), true, "sectorhub-local"},
		{"raw without", nil, true, ""},
		{"formatted with a set", aws.String("other-set"), false, "other-set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id *string
			if tt.raw {
				out, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: rawTo("ada@example.org")}, ConfigurationSetName: tt.set})
				if err != nil {
					t.Fatal(err)
				}
				id = out.MessageId
			} else {
				out, err := client.SendEmail(ctx, &ses.SendEmailInput{
					Source:               aws.String("news@sectorhub.example"),
					Destination:          &types.Destination{ToAddresses: []string{"ada@example.org"}},
					Message:              &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}},
					ConfigurationSetName: tt.set,
				})
				if err != nil {
					t.Fatal(err)
				}
				id = out.MessageId
			}
			m, ok := o.Message(aws.ToString(id))
			if !ok || m.ConfigurationSet != tt.want {
				t.Fatalf("Message(%s).ConfigurationSet = %q (found %t); want %q", aws.ToString(id), m.ConfigurationSet, ok, tt.want)
			}
			_, l, body := getListing(t, srv.Client(), srv.URL, url.Values{"limit": {"1"}})
			if len(l.Messages) != 1 {
				t.Fatalf("listing = %s; want one message", body)
			}
			var keys []string
			for k := range l.Messages[0] {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			wantKeys := []string{"action", "configuration_set", "destinations", "html", "id", "raw", "received", "source", "subject", "text", "url"}
			if !slices.Equal(keys, wantKeys) || l.Messages[0]["configuration_set"] != tt.want || l.Messages[0]["id"] != aws.ToString(id) {
				t.Errorf("listed message has fields %v, configuration_set %v; want fields %v, configuration_set %q", keys, l.Messages[0]["configuration_set"], wantKeys, tt.want)
			}
			_, l, _ = getListing(t, srv.Client(), srv.URL, url.Values{"limit": {"1"}, "fields": {"configuration_set"}})
			if len(l.Messages) != 1 || len(l.Messages[0]) != 1 || l.Messages[0]["configuration_set"] != tt.want {
				t.Errorf("fields=configuration_set lists %v; want only configuration_set %q", l.Messages, tt.want)
			}
		})
	}
}

// TestUnknownConfigurationSet: with Options.ConfigurationSets, a send naming another set is
// refused as SES refuses it, and nothing is kept; no set, or a known one, is accepted.
func TestUnknownConfigurationSet(t *testing.T) {
	o := NewWithOptions(Options{ConfigurationSets: []string{"sectorhub-local"}})
	client := newClient(t, startServer(t, o))
	tests := []struct {
		name     string
		set      *string
		wantCode string
	}{
		{"known", aws.String("sectorhub-local"), ""},
		{"none", nil, ""},
		{"unknown", aws.String("sectorhub-prod"), "ConfigurationSetDoesNotExist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(o.Messages())
			_, err := client.SendRawEmail(context.Background(), &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: rawTo("ada@example.org")}, ConfigurationSetName: tt.set})
			var apiErr smithy.APIError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("SendRawEmail with set %q: %v; want it sent", aws.ToString(tt.set), err)
			case tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode || !strings.Contains(apiErr.ErrorMessage(), aws.ToString(tt.set))):
				t.Fatalf("SendRawEmail with set %q: %v; want %s naming the set", aws.ToString(tt.set), err, tt.wantCode)
			}
			kept := len(o.Messages()) - before
			if want := map[bool]int{true: 1, false: 0}[tt.wantCode == ""]; kept != want {
				t.Errorf("%d messages kept; want %d", kept, want)
			}
		})
	}
}

// TestOnSent: OnSent sees every message the endpoint keeps, before the sender's call returns,
// and none it refuses.
func TestOnSent(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []Message
	)
	clock := newFakeClock()
	o := NewWithOptions(Options{MaxSendRate: 1, Now: clock.Now, OnSent: func(m Message) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m)
	}})
	client := newClient(t, startServer(t, o))
	ctx := context.Background()
	out, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: rawTo("ada@example.org")}, ConfigurationSetName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	if len(got) != 1 || got[0].ID != aws.ToString(out.MessageId) || got[0].ConfigurationSet != "s" || !slices.Equal(got[0].Destinations, []string{"ada@example.org"}) {
		t.Fatalf("OnSent saw %+v when the send returned; want the message %s", got, aws.ToString(out.MessageId))
	}
	// Over the rate: refused, not seen.
	_, err = client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: rawTo("bob@example.org")}})
	checkSendError(t, err, "Maximum sending rate exceeded.")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Errorf("OnSent saw %d messages after a throttled send; want still 1", len(seen))
	}
}

func TestSimulated(t *testing.T) {
	tests := []struct {
		address  string
		wantKind string
		wantOK   bool
	}{
		{"bounce@simulator.amazonses.com", SimulatedBounce, true},
		{"Bounce+ada@Simulator.AmazonSES.com", SimulatedBounce, true},
		{"complaint+sub-7@simulator.amazonses.com", SimulatedComplaint, true},
		{"success@simulator.amazonses.com", SimulatedSuccess, true},
		{"ooto@simulator.amazonses.com", SimulatedOutOfOffice, true},
		{"suppressionlist@simulator.amazonses.com", SimulatedSuppressed, true},
		{"nobody@simulator.amazonses.com", "", false},
		{"bounce@example.org", "", false},
		{"bounce@simulator.amazonses.com.example.org", "", false},
		{"not an address", "", false},
	}
	for _, tt := range tests {
		kind, ok := Simulated(tt.address)
		if kind != tt.wantKind || ok != tt.wantOK {
			t.Errorf("Simulated(%q) = %q, %t; want %q, %t", tt.address, kind, ok, tt.wantKind, tt.wantOK)
		}
	}
}

// The records as the SES documentation shows them ("Contents of event data that Amazon SES
// publishes to Amazon SNS"), for decoding Feedback's.
type (
	sesRecord struct {
		EventType string        `json:"eventType"`
		Mail      sesMail       `json:"mail"`
		Bounce    *sesBounce    `json:"bounce"`
		Complaint *sesComplaint `json:"complaint"`
	}
	sesMail struct {
		Timestamp        string `json:"timestamp"`
		Source           string `json:"source"`
		SourceArn        string `json:"sourceArn"`
		SendingAccountID string `json:"sendingAccountId"`
		MessageID        string `json:"messageId"`
		Destination      []string
		HeadersTruncated *bool `json:"headersTruncated"`
		Headers          []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		CommonHeaders struct {
			From      []string `json:"from"`
			To        []string `json:"to"`
			MessageID string   `json:"messageId"`
			Subject   string   `json:"subject"`
			Date      string   `json:"date"`
		} `json:"commonHeaders"`
		Tags map[string][]string `json:"tags"`
	}
	sesBounce struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
		Timestamp  string `json:"timestamp"`
		FeedbackID string `json:"feedbackId"`
	}
	sesComplaint struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
		Timestamp             string `json:"timestamp"`
		FeedbackID            string `json:"feedbackId"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
	}
)

func TestFeedback(t *testing.T) {
	sent := time.Date(2026, 12, 1, 12, 0, 0, 123e6, time.UTC)
	acct := Account{Region: "eu-west-2", AccountID: "000000000000", Partition: "aws"}
	to := []string{"ada@example.org", "bounce+ada@simulator.amazonses.com", "complaint@simulator.amazonses.com", "success@simulator.amazonses.com", "Bounce@simulator.amazonses.com"}
	m := Message{ID: "0102abc-1", Received: sent, Action: "SendRawEmail", Source: "Light Lunch <news@sectorhub.example>",
		Destinations: to, Subject: "Light Lunch — this week", ConfigurationSet: "sectorhub-local", Raw: rawTo(to...)}

	for _, tt := range []struct {
		name string
		m    Message
	}{
		{"no configuration set", func() Message { m := m; m.ConfigurationSet = ""; return m }()},
		{"no simulated feedback", func() Message {
			m := m
			m.Destinations = []string{"ada@example.org", "success@simulator.amazonses.com", "ooto@simulator.amazonses.com"}
			return m
		}()},
	} {
		if evs := Feedback(tt.m, acct, sent.Add(time.Second)); len(evs) != 0 {
			t.Errorf("%s: Feedback() = %d events; want none", tt.name, len(evs))
		}
	}

	evs := Feedback(m, acct, sent.Add(time.Second))
	if len(evs) != 2 || evs[0].Type != "bounce" || evs[1].Type != "complaint" {
		t.Fatalf("Feedback() = %+v; want a bounce and a complaint", evs)
	}
	var bounce, complaint sesRecord
	for _, e := range []struct {
		raw  []byte
		into *sesRecord
	}{{evs[0].Record, &bounce}, {evs[1].Record, &complaint}} {
		dec := json.NewDecoder(strings.NewReader(string(e.raw)))
		if err := dec.Decode(e.into); err != nil {
			t.Fatalf("record %s: %v", e.raw, err)
		}
	}
	for _, r := range []sesRecord{bounce, complaint} {
		ml := r.Mail
		if ml.Timestamp != "2026-12-01T12:00:00.123Z" || ml.Source != m.Source || ml.SourceArn != "arn:aws:ses:eu-west-2:000000000000:identity/sectorhub.example" ||
			ml.SendingAccountID != "000000000000" || ml.MessageID != m.ID || !slices.Equal(ml.Destination, to) || ml.HeadersTruncated == nil || *ml.HeadersTruncated {
			t.Errorf("%s mail = %+v; want the message as sent", r.EventType, ml)
		}
		if len(ml.Headers) != 6 || ml.Headers[0].Name != "From" || ml.Headers[2].Value != "=?UTF-8?Q?Light_Lunch_=E2=80=94_this_week?=" {
			t.Errorf("%s mail headers = %+v; want the six as written", r.EventType, ml.Headers)
		}
		ch := ml.CommonHeaders
		if !slices.Equal(ch.From, []string{`"Light Lunch" <news@sectorhub.example>`}) || len(ch.To) != len(to) || ch.MessageID != m.ID || ch.Subject != m.Subject || ch.Date != "Tue, 01 Dec 2026 12:00:00 +0000" {
			t.Errorf("%s commonHeaders = %+v", r.EventType, ch)
		}
		if !slices.Equal(ml.Tags["ses:configuration-set"], []string{"sectorhub-local"}) || !slices.Equal(ml.Tags["ses:from-domain"], []string{"sectorhub.example"}) {
			t.Errorf("%s tags = %v; want the configuration set and the sender's domain", r.EventType, ml.Tags)
		}
	}
	b := bounce.Bounce
	if bounce.EventType != "Bounce" || b == nil || bounce.Complaint != nil {
		t.Fatalf("bounce record = %s", evs[0].Record)
	}
	var bounced []string
	for _, r := range b.BouncedRecipients {
		bounced = append(bounced, r.EmailAddress)
		if r.Action != "failed" || r.Status != "5.1.1" || r.DiagnosticCode != "smtp; 550 5.1.1 user unknown" {
			t.Errorf("bounced recipient %+v; want failed, 5.1.1, user unknown", r)
		}
	}
	if b.BounceType != "Permanent" || b.BounceSubType != "General" || b.Timestamp != "2026-12-01T12:00:01.123Z" || b.FeedbackID == "" ||
		!slices.Equal(bounced, []string{"bounce+ada@simulator.amazonses.com", "Bounce@simulator.amazonses.com"}) {
		t.Errorf("bounce = %+v; want a permanent, general bounce of the two bounce addresses", b)
	}
	c := complaint.Complaint
	if complaint.EventType != "Complaint" || c == nil || complaint.Bounce != nil {
		t.Fatalf("complaint record = %s", evs[1].Record)
	}
	if len(c.ComplainedRecipients) != 1 || c.ComplainedRecipients[0].EmailAddress != "complaint@simulator.amazonses.com" ||
		c.ComplaintFeedbackType != "abuse" || c.Timestamp != "2026-12-01T12:00:01.123Z" || c.FeedbackID == "" {
		t.Errorf("complaint = %+v; want an abuse complaint of complaint@simulator.amazonses.com", c)
	}
}

// TestSimulatorNotCounted: mail to the simulator does not count against the sending limits, as
// in SES; other recipients of the same mail do.
func TestSimulatorNotCounted(t *testing.T) {
	clock := newFakeClock()
	o := NewWithOptions(Options{MaxSendRate: 1, Max24HourSend: 2, Now: clock.Now})
	client := newClient(t, startServer(t, o))
	ctx := context.Background()
	sendTo := func(to ...string) error {
		_, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: rawTo(to...)}})
		return err
	}
	for i := range 5 {
		if err := sendTo("bounce@simulator.amazonses.com", "success+x@simulator.amazonses.com"); err != nil {
			t.Fatalf("simulator send %d within one second: %v; want it accepted", i, err)
		}
	}
	checkSendError(t, sendTo("ada@example.org", "complaint@simulator.amazonses.com"), "")
	checkSendError(t, sendTo("bob@example.org"), "Maximum sending rate exceeded.")
	out, err := client.GetSendQuota(ctx, &ses.GetSendQuotaInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.SentLast24Hours != 1 {
		t.Errorf("SentLast24Hours = %v; want 1 (the simulator's recipients not counted)", out.SentLast24Hours)
	}
}
