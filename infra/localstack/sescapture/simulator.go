package sescapture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// The mailbox simulator: SES accepts mail to these addresses of simulator.amazonses.com (a
// label may follow a "+", as in bounce+ada@simulator.amazonses.com) and answers as a
// receiving server would, without delivering anything. SES counts none of it against the
// sending limits. The capture keeps such mail like any other and, for a mail sent with a
// configuration set, Feedback builds the events SES publishes for it.
const (
	SimulatorDomain = "simulator.amazonses.com"

	SimulatedSuccess     = "success"   // delivered
	SimulatedBounce      = "bounce"    // a permanent (hard) bounce: 550 5.1.1 user unknown
	SimulatedComplaint   = "complaint" // delivered, then reported as spam by the recipient
	SimulatedOutOfOffice = "ooto"      // delivered, with an automatic reply
	SimulatedSuppressed  = "suppressionlist"
)

// Simulated reports whether address is one of the mailbox simulator's, and which
// (SimulatedBounce, ...; a label after "+" ignored, case ignored).
func Simulated(address string) (kind string, ok bool) {
	local, domain, found := strings.Cut(address, "@")
	if !found || !strings.EqualFold(domain, SimulatorDomain) {
		return "", false
	}
	local, _, _ = strings.Cut(strings.ToLower(local), "+")
	switch local {
	case SimulatedSuccess, SimulatedBounce, SimulatedComplaint, SimulatedOutOfOffice, SimulatedSuppressed:
		return local, true
	}
	return "", false
}

// FeedbackEvent is one event SES publishes about a sent mail, as an event destination receives
// it: Type is the destination's matching event type it belongs to ("bounce", "complaint"), and
// Record the JSON record, shaped as in "Contents of event data that Amazon SES publishes to
// Amazon SNS" (eventType, mail, bounce or complaint).
type FeedbackEvent struct {
	Type   string
	Record []byte
}

// Account is what SES's event records say of the sending account.
type Account struct {
	Region, AccountID, Partition string
}

// Feedback returns the events SES's mailbox simulator makes of m once SES has published them:
// one Bounce event for m's recipients that are bounce addresses of the simulator, one Complaint
// event for its complaint addresses, none for the others (success and any other address are
// simply delivered, and no event type here reports that). A mail sent without a configuration
// set publishes no events. now is when the events happen.
func Feedback(m Message, acct Account, now time.Time) []FeedbackEvent {
	if m.ConfigurationSet == "" {
		return nil
	}
	var bounced, complained []string
	for _, d := range m.Destinations {
		switch kind, _ := Simulated(d); kind {
		case SimulatedBounce:
			bounced = append(bounced, d)
		case SimulatedComplaint:
			complained = append(complained, d)
		}
	}
	if len(bounced) == 0 && len(complained) == 0 {
		return nil
	}
	mailObj := eventMail(m, acct)
	stamp := now.UTC().Format(sesTime)
	var out []FeedbackEvent
	if len(bounced) > 0 {
		type recipient struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		}
		b := struct {
			FeedbackID        string      `json:"feedbackId"`
			BounceType        string      `json:"bounceType"`
			BounceSubType     string      `json:"bounceSubType"`
			BouncedRecipients []recipient `json:"bouncedRecipients"`
			Timestamp         string      `json:"timestamp"`
			ReportingMTA      string      `json:"reportingMTA"`
		}{newMessageID(now), "Permanent", "General", nil, stamp, "dns; amazonses.com"}
		for _, d := range bounced {
			b.BouncedRecipients = append(b.BouncedRecipients, recipient{d, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"})
		}
		out = append(out, FeedbackEvent{Type: "bounce", Record: record(struct {
			EventType string `json:"eventType"`
			Bounce    any    `json:"bounce"`
			Mail      any    `json:"mail"`
		}{"Bounce", b, mailObj})})
	}
	if len(complained) > 0 {
		type recipient struct {
			EmailAddress string `json:"emailAddress"`
		}
		c := struct {
			FeedbackID            string      `json:"feedbackId"`
			ComplaintSubType      *string     `json:"complaintSubType"`
			ComplainedRecipients  []recipient `json:"complainedRecipients"`
			Timestamp             string      `json:"timestamp"`
			UserAgent             string      `json:"userAgent"`
			ComplaintFeedbackType string      `json:"complaintFeedbackType"`
			ArrivalDate           string      `json:"arrivalDate"`
		}{newMessageID(now), nil, nil, stamp, "Amazon SES Mailbox Simulator", "abuse", m.Received.UTC().Format(sesTime)}
		for _, d := range complained {
			c.ComplainedRecipients = append(c.ComplainedRecipients, recipient{d})
		}
		out = append(out, FeedbackEvent{Type: "complaint", Record: record(struct {
			EventType string `json:"eventType"`
			Complaint any    `json:"complaint"`
			Mail      any    `json:"mail"`
		}{"Complaint", c, mailObj})})
	}
	return out
}

// sesTime is the time format of SES's event records.
const sesTime = "2006-01-02T15:04:05.000Z"

// record encodes an event record; it holds only strings, lists and maps of them.
func record(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sescapture: encode an event record: %v", err))
	}
	return b
}

type header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// eventMail is an event record's mail object: the message as SES sent it, its headers in order
// and the common ones decoded, and the tags SES adds.
func eventMail(m Message, acct Account) any {
	source := m.Source
	domain := source
	if a, err := mail.ParseAddress(source); err == nil {
		domain = a.Address
	}
	if _, d, ok := strings.Cut(domain, "@"); ok {
		domain = d
	}
	var headers []header
	common := map[string]any{"messageId": m.ID}
	if msg, err := mail.ReadMessage(bytes.NewReader(m.Raw)); err == nil {
		headers = rawHeaders(m.Raw)
		for _, h := range []struct{ name, key string }{{"From", "from"}, {"To", "to"}, {"Cc", "cc"}, {"Reply-To", "replyTo"}} {
			list, err := msg.Header.AddressList(h.name)
			if err != nil {
				continue // absent, or not addresses SES would have accepted
			}
			var out []string
			for _, a := range list {
				out = append(out, a.String())
			}
			common[h.key] = out
		}
		if v := msg.Header.Get("Date"); v != "" {
			common["date"] = v
		}
		common["subject"] = m.Subject
	}
	return map[string]any{
		"timestamp":        m.Received.UTC().Format(sesTime),
		"source":           source,
		"sourceArn":        fmt.Sprintf("arn:%s:ses:%s:%s:identity/%s", acct.Partition, acct.Region, acct.AccountID, domain),
		"sourceIp":         "127.0.0.1",
		"callerIdentity":   "local",
		"sendingAccountId": acct.AccountID,
		"messageId":        m.ID,
		"destination":      m.Destinations,
		"headersTruncated": false,
		"headers":          headers,
		"commonHeaders":    common,
		"tags": map[string][]string{
			"ses:configuration-set": {m.ConfigurationSet},
			"ses:operation":         {m.Action},
			"ses:source-ip":         {"127.0.0.1"},
			"ses:from-domain":       {domain},
			"ses:caller-identity":   {"local"},
		},
	}
}

// rawHeaders returns a message's header fields in order, folded lines unfolded, values as
// written (encoded words left encoded, as SES reports them).
func rawHeaders(raw []byte) []header {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		end = bytes.Index(raw, []byte("\n\n"))
	}
	if end < 0 {
		end = len(raw)
	}
	var out []header
	for _, line := range strings.Split(strings.ReplaceAll(string(raw[:end]), "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out = append(out, header{Name: name, Value: strings.TrimSpace(value)})
	}
	return out
}
