// Package mailfeedback acts on what SES says became of sectorhub's mail: the bounce and
// complaint notices that SES publishes, through the configuration set's event destination, to
// an SNS topic, and that SNS delivers to MailFeedbackFunction. A permanent bounce and every
// complaint suppress the address for the bulletin at once; a transient (or undetermined)
// bounce is counted, and the store suppresses the address at the bulletin.SoftBounceLimit-th
// within bulletin.SoftBounceWindow. Other notices (deliveries, sends, opens, ...) are ignored.
//
// Addresses are personal data: no log line and no returned error holds one.
package mailfeedback

import (
	"encoding/json"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"sectorhub/shared/event"
)

// Action is what a notice asks of its recipients' subscriptions.
type Action int

// Actions of a notice.
const (
	Ignore     Action = iota // neither a bounce nor a complaint: nothing to do
	Suppress                 // a permanent bounce: the address becomes bulletin.Bounced
	SoftBounce               // a transient or undetermined bounce: counted towards the limit
	Complain                 // a complaint: the address becomes bulletin.Complained
)

func (a Action) String() string {
	switch a {
	case Suppress:
		return "suppress"
	case SoftBounce:
		return "soft-bounce"
	case Complain:
		return "complain"
	}
	return "ignore"
}

// Notice is one SES notice, as much of it as feedback needs.
type Notice struct {
	// Type is the notice's eventType (event publishing through a configuration set) or
	// notificationType (an identity's feedback notifications): "Bounce", "Complaint",
	// "Delivery", ...
	Type string
	// BounceType is a bounce's bounceType: "Permanent", "Transient" or "Undetermined".
	BounceType string
	Action     Action
	// Recipients are the bounced or complaining addresses, as event.NormaliseEmail returns
	// them, each once. Personal data.
	Recipients []string
	// Invalid counts the recipients left out because they are not addresses sectorhub could
	// have mailed.
	Invalid int
	// At is when the bounce or complaint happened (the bounce's or complaint's timestamp);
	// zero when the notice gives none that can be read.
	At time.Time
	// MessageID is SES's ID of the mail the notice is about (mail.messageId), to find the
	// send in logs; "" when the notice has none.
	MessageID string
}

// ErrMalformed is the error of a message that is not an SES notice feedback can read. Its
// text never quotes the message.
var ErrMalformed = errors.New("malformed SES notice")

// notice is the JSON of an SES notice, in either form: event publishing (eventType) or
// feedback notifications (notificationType). Fields feedback does not need are left out; SES
// may add fields at any time, so unknown ones are ignored.
type notice struct {
	EventType        *string `json:"eventType"`
	NotificationType *string `json:"notificationType"`
	Bounce           *struct {
		BounceType        string      `json:"bounceType"`
		BouncedRecipients []recipient `json:"bouncedRecipients"`
		Timestamp         string      `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []recipient `json:"complainedRecipients"`
		Timestamp            string      `json:"timestamp"`
	} `json:"complaint"`
	Mail *struct {
		MessageID string `json:"messageId"`
	} `json:"mail"`
}

type recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// isWord reports whether s is short and plain enough to name in a message (a type from SES,
// never an address): a letter, then up to 39 letters and spaces. isMessageID reports whether
// s has the shape of SES's message IDs: a letter or digit, then up to 99 of them and hyphens.
// (Hand-written rather than regular expressions, which would be compiled at every cold start.)
func isWord(s string) bool {
	return len(s) >= 1 && len(s) <= 40 && isLetter(s[0]) && !strings.ContainsFunc(s, func(r rune) bool { return !(r < 128 && isLetter(byte(r)) || r == ' ') })
}

func isMessageID(s string) bool {
	return len(s) >= 1 && len(s) <= 100 && isAlnum(s[0]) && !strings.ContainsFunc(s, func(r rune) bool { return !(r < 128 && isAlnum(byte(r)) || r == '-') })
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool  { return isLetter(c) || '0' <= c && c <= '9' }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Parse reads an SNS message from SES: the JSON of a bounce, complaint or other notice.
// A bounce must give its bounceType and at least one recipient, a complaint at least one
// recipient; anything else of SES's (a delivery, a send, ...) parses with Action Ignore.
// Errors wrap ErrMalformed and quote nothing of the message but SES's type names.
func Parse(message string) (Notice, error) {
	var raw notice
	if err := json.Unmarshal([]byte(message), &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return Notice{}, malformed("field %s has the wrong JSON type", typeErr.Field)
		}
		return Notice{}, malformed("not a JSON object")
	}
	var n Notice
	switch {
	case raw.EventType != nil:
		n.Type = *raw.EventType
	case raw.NotificationType != nil:
		n.Type = *raw.NotificationType
	default:
		return Notice{}, malformed("neither eventType nor notificationType is given")
	}
	if raw.Mail != nil && isMessageID(raw.Mail.MessageID) {
		n.MessageID = raw.Mail.MessageID
	}
	var (
		recipients []recipient
		at         string
	)
	switch n.Type {
	case "Bounce":
		if raw.Bounce == nil {
			return Notice{}, malformed("a Bounce without its bounce object")
		}
		n.BounceType = raw.Bounce.BounceType
		switch {
		case strings.EqualFold(n.BounceType, "Permanent"):
			n.Action = Suppress
		case strings.EqualFold(n.BounceType, "Transient"), strings.EqualFold(n.BounceType, "Undetermined"):
			n.Action = SoftBounce
		case isWord(n.BounceType):
			return Notice{}, malformed("unknown bounceType %q", n.BounceType)
		default:
			return Notice{}, malformed("a Bounce without a bounceType")
		}
		recipients, at = raw.Bounce.BouncedRecipients, raw.Bounce.Timestamp
	case "Complaint":
		if raw.Complaint == nil {
			return Notice{}, malformed("a Complaint without its complaint object")
		}
		n.Action = Complain
		recipients, at = raw.Complaint.ComplainedRecipients, raw.Complaint.Timestamp
	default:
		if !isWord(n.Type) {
			return Notice{}, malformed("the notice's type is not a word")
		}
		return n, nil // another kind of notice: nothing to do
	}
	if len(recipients) == 0 {
		return Notice{}, malformed("a %s without recipients", n.Type)
	}
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		n.At = t.UTC()
	}
	seen := make(map[string]bool, len(recipients))
	for _, r := range recipients {
		email, ok := Address(r.EmailAddress)
		switch {
		case !ok:
			n.Invalid++
		case !seen[email]:
			seen[email] = true
			n.Recipients = append(n.Recipients, email)
		}
	}
	return n, nil
}

// Address returns s as the subscriber store keys addresses (event.NormaliseEmail: the
// domain in lower case), and whether it is an address sectorhub could have mailed. SES
// gives the bare address it sent to, or a DSN's Final-Recipient; an address with a display
// name ("Name <a@b.example>") is read as its address.
func Address(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if email, msg := event.NormaliseEmail(s); msg == "" {
		return email, true
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address == s {
		return "", false
	}
	email, msg := event.NormaliseEmail(a.Address)
	return email, msg == ""
}
