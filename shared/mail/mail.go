// Package mail is how sectorhub sends mail: messages are built here (MIME, with HTML and plain
// text parts and attachments), recorded in an outbox before they are sent, and sent through
// Amazon SES from the outbox, so that a failure of SES never loses a mail and a retry never
// sends one twice (DESIGN.md §8). It knows no capability: each brings its own rendered
// messages.
package mail

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Outbox statuses of a Mail.
const (
	Pending   = "pending"   // recorded, not yet sent (or to be retried at NextAttemptAt)
	Sending   = "sending"   // claimed by a sender until LeaseUntil
	Sent      = "sent"      // SES accepted it (MessageID)
	Failed    = "failed"    // SES refused it for good (a bad address); never retried
	Uncertain = "uncertain" // a sender claimed it and stopped before recording the outcome: it
	// may or may not have gone, and it is not sent again (never twice)
)

// Stamp names a record that notes when a mail was sent: when the mail is sent, the outbox
// sets the record's top-level attribute mail_sent_<Kind> to the time (for example a
// booking's mail_sent_confirmation), if the record still exists. Kind is 1 to 64 of a-z,
// 0-9, "_" and "-".
type Stamp struct {
	PK   string `json:"pk"`
	SK   string `json:"sk"`
	Kind string `json:"kind"`
}

// Mail is one message in the outbox. ID is chosen by the capability and is the same for the
// same message however often it is recorded (for example "event-confirmation-<booking id>"),
// so that recording it twice keeps one. To and Raw are personal data: the outbox drops them
// when the mail is sent, failed or uncertain.
type Mail struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"` // what it is, for logs and counts ("event-confirmation"); no personal data
	From          string    `json:"from"` // SES's Source: "Name <address>" or an address
	To            []string  `json:"to"`   // SES's Destinations (which may differ from the To header)
	Raw           []byte    `json:"raw"`  // the RFC 5322 message (Build)
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	CreatedAt     time.Time `json:"created_at"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LeaseUntil    time.Time `json:"lease_until,omitzero"`
	// Claim identifies the claim that holds a sending mail: a claimer whose write was applied
	// but whose answer was lost (and retried, failing its condition) knows the mail is its own.
	Claim     string    `json:"claim,omitempty"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	FailedAt  time.Time `json:"failed_at,omitzero"`
	MessageID string    `json:"message_id,omitempty"` // SES's
	LastError string    `json:"last_error,omitempty"` // SES's error code; no personal data
	Stamp     *Stamp    `json:"stamp,omitempty"`
}

// Message is a mail to build (Build): a plain-text part, an HTML part (both required: the
// text part is what screen readers and plain clients show), and attachments.
type Message struct {
	From        string // "Name <address>" or an address
	To          []string
	ReplyTo     string
	Subject     string
	Text        string
	HTML        string
	Headers     map[string]string // extra headers (List-Unsubscribe, ...); values without CR or LF
	Attachments []Attachment
}

// Attachment is a file attached to a Message. ContentType may carry parameters
// ("text/calendar; method=PUBLISH; charset=UTF-8").
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Check returns an error when s cannot be recorded: a key is empty, or Kind is not 1 to 64 of
// a-z, 0-9, "_" and "-" (it becomes part of an attribute name).
func (s Stamp) Check() error {
	if s.PK == "" || s.SK == "" {
		return errors.New("mail stamp: pk and sk are required")
	}
	if len(s.Kind) == 0 || len(s.Kind) > 64 || strings.ContainsFunc(s.Kind, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		return fmt.Errorf("mail stamp: kind %q is not 1 to 64 of a-z, 0-9, _ and -", s.Kind)
	}
	return nil
}
