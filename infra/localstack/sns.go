package localstack

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/samtemplate"
)

// SNS, locally: a topic is only a name. Publishing to it (the mailbox simulator's feedback,
// or PublishSNS) invokes each function with an SNS event of that topic asynchronously, as SNS
// does, with Lambda's retries; Drain waits for them.

// snsSubscription is a function's SNS event: the function receives what is published to the
// topic.
type snsSubscription struct {
	topicARN   string
	functionID string
	eventID    string
	arn        string // the subscription's ARN: the topic's, a colon and a UUID
}

// mailDestination is an enabled event destination of the template that publishes an SES
// configuration set's events to an SNS topic.
type mailDestination struct {
	samtemplate.MailEventDestination
	configurationSet string
	topicARN         string
}

// loadSNS resolves the template's SNS events, its SES configuration sets and the event
// destinations that publish to SNS.
func (s *Stack) loadSNS() error {
	for _, tr := range s.tmpl.Triggers {
		if tr.Type != "SNS" {
			continue
		}
		topic, err := s.tmpl.Resolve(tr.Topic, s.names)
		if err != nil {
			return fmt.Errorf("%s: %s event %s: %w", s.tmpl.Path, tr.FunctionID, tr.EventID, err)
		}
		sum := sha256.Sum256([]byte(topic + "\x00" + tr.FunctionID + "\x00" + tr.EventID))
		h := hex.EncodeToString(sum[:16])
		uuid := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		s.subscriptions = append(s.subscriptions, snsSubscription{topicARN: topic, functionID: tr.FunctionID, eventID: tr.EventID, arn: topic + ":" + uuid})
	}
	s.configurationSets = []string{}
	for _, r := range s.tmpl.Resources("AWS::SES::ConfigurationSet") {
		s.configurationSets = append(s.configurationSets, s.names[r.LogicalID])
	}
	for _, d := range s.tmpl.MailEventDestinations {
		props := map[string]string{}
		for name, v := range map[string]samtemplate.Value{"ConfigurationSetName": d.ConfigurationSet, "Enabled": d.Enabled, "TopicARN": d.SNSTopic} {
			val, err := s.tmpl.Resolve(v, s.names)
			if err != nil {
				return fmt.Errorf("%s: event destination %s: %w", s.tmpl.Path, d.LogicalID, err)
			}
			props[name] = val
		}
		if !strings.EqualFold(props["Enabled"], "true") || props["TopicARN"] == "" {
			continue // SES publishes nothing to a disabled destination; others are not emulated
		}
		s.mailDestinations = append(s.mailDestinations, mailDestination{MailEventDestination: d, configurationSet: props["ConfigurationSetName"], topicARN: props["TopicARN"]})
	}
	return nil
}

// mailFeedbackSubject is the Subject of the SNS notifications of SES's event publishing.
const mailFeedbackSubject = "Amazon SES Email Event Notification"

// mailSent publishes, as SES's event publishing does, the events the mailbox simulator makes of
// a captured message (sescapture.Feedback) to the SNS topics of the event destinations of its
// configuration set that match them. It runs before the send returns to the function that sent
// it, so that Drain then waits for the invocations.
func (s *Stack) mailSent(m sescapture.Message) {
	if m.ConfigurationSet == "" {
		return
	}
	p := s.tmpl.Pseudo
	acct := sescapture.Account{Region: p["AWS::Region"], AccountID: p["AWS::AccountId"], Partition: p["AWS::Partition"]}
	for _, ev := range sescapture.Feedback(m, acct, time.Now()) {
		published := false
		for _, d := range s.mailDestinations {
			if d.configurationSet != m.ConfigurationSet || !d.Publishes(ev.Type) {
				continue
			}
			published = true
			n := s.publish(d.topicARN, mailFeedbackSubject, string(ev.Record), fmt.Sprintf("%s of mail %s", ev.Type, m.ID))
			if n == 0 {
				s.log.Printf("ses", "simulator: the %s of mail %s went to %s, which no function subscribes to", ev.Type, m.ID, d.topicARN)
			}
		}
		if !published {
			s.log.Printf("ses", "simulator: no event destination of configuration set %s publishes the %s of mail %s", m.ConfigurationSet, ev.Type, m.ID)
		}
	}
}

// PublishSNS publishes message to the template's topic with logicalID (an AWS::SNS::Topic) as
// SNS would: each function subscribed to it is invoked asynchronously with an SNS event (Drain
// waits for them). It returns how many invocations it started.
func (s *Stack) PublishSNS(topicLogicalID, subject, message string) (int, error) {
	if !slices.ContainsFunc(s.tmpl.Resources("AWS::SNS::Topic"), func(r samtemplate.Resource) bool { return r.LogicalID == topicLogicalID }) {
		return 0, fmt.Errorf("publish to %s: %w", topicLogicalID, errNoTopic)
	}
	return s.publish(s.names[topicLogicalID], subject, message, "a message published by hand"), nil
}

var errNoTopic = errors.New("no such AWS::SNS::Topic in the template")

// publish invokes every function subscribed to topicARN with one SNS notification of message,
// asynchronously, and returns how many; what names the message in the log.
func (s *Stack) publish(topicARN, subject, message, what string) int {
	var subs []snsSubscription
	for _, sub := range s.subscriptions {
		if sub.topicARN == topicARN {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 {
		return 0
	}
	messageID := lambdart.NewRequestID()
	at := time.Now()
	s.async.arrive("", len(subs))
	for _, sub := range subs {
		payload, err := s.snsEvent(sub, messageID, subject, message, at)
		go func() {
			defer s.async.done()
			if err != nil {
				s.log.Printf("sns", "encode the notification of %s for %s: %v", what, sub.functionID, err)
				s.failures.Add(1)
				return
			}
			s.log.Printf("sns", "%s → %s (%s)", what, sub.functionID, sub.eventID)
			s.invokeAsync("sns", sub.functionID, what, payload)
		}()
	}
	return len(subs)
}

// snsEvent is the event SNS invokes a subscribed function with: one record, EventSource aws:sns,
// the notification in Sns with the fields in SNS's order. The signature is not a real one (no
// key signs it locally): a function that checked it would refuse it, as it should refuse
// anything not from SNS.
func (s *Stack) snsEvent(sub snsSubscription, messageID, subject, message string, at time.Time) ([]byte, error) {
	region := s.tmpl.Pseudo["AWS::Region"]
	type notification struct {
		Type              string         `json:"Type"`
		MessageID         string         `json:"MessageId"`
		TopicArn          string         `json:"TopicArn"`
		Subject           *string        `json:"Subject"`
		Message           string         `json:"Message"`
		Timestamp         string         `json:"Timestamp"`
		SignatureVersion  string         `json:"SignatureVersion"`
		Signature         string         `json:"Signature"`
		SigningCertURL    string         `json:"SigningCertUrl"`
		UnsubscribeURL    string         `json:"UnsubscribeUrl"`
		MessageAttributes map[string]any `json:"MessageAttributes"`
	}
	type record struct {
		EventSource          string       `json:"EventSource"`
		EventVersion         string       `json:"EventVersion"`
		EventSubscriptionArn string       `json:"EventSubscriptionArn"`
		Sns                  notification `json:"Sns"`
	}
	n := notification{
		Type:              "Notification",
		MessageID:         messageID,
		TopicArn:          sub.topicARN,
		Message:           message,
		Timestamp:         at.UTC().Format("2006-01-02T15:04:05.000Z"),
		SignatureVersion:  "1",
		Signature:         base64.StdEncoding.EncodeToString([]byte("sectorhub local stack: not signed")),
		SigningCertURL:    "https://sns." + region + ".amazonaws.com/SimpleNotificationService-local.pem",
		UnsubscribeURL:    "https://sns." + region + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + sub.arn,
		MessageAttributes: map[string]any{},
	}
	if subject != "" {
		n.Subject = &subject // SNS sends null when a message has none
	}
	return json.Marshal(struct {
		Records []record `json:"Records"`
	}{[]record{{EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: sub.arn, Sns: n}}})
}
