package bulletin

import (
	"errors"
	"time"
)

// State is where a subscriber stands.
type State string

// States of a subscriber. Only Subscribed is ever mailed the bulletin. Unsubscribed, Bounced
// and Complained are suppressed: nothing but the person's own new request (a confirmation
// mail) and its confirmation changes them, and an import never does.
const (
	Pending      State = "pending"      // asked on the web form, not yet confirmed
	Subscribed   State = "subscribed"   // confirmed (or imported with consent)
	Unsubscribed State = "unsubscribed" // unsubscribed themselves
	Bounced      State = "bounced"      // a permanent bounce, or 3 transient ones in 30 days
	Complained   State = "complained"   // marked a mail as spam
)

// Suppressed reports whether s is never mailed the bulletin.
func (s State) Suppressed() bool { return s == Unsubscribed || s == Bounced || s == Complained }

// Consent sources and the text agreed to.
const (
	// SourceWebForm is the consent source of a confirmed web-form subscription.
	SourceWebForm = "web-form"
	// SourceImportPrefix starts an imported subscriber's consent source: "import:" and the
	// upload's key ("import:subscribers/2026-11.csv").
	SourceImportPrefix = "import:"
	// ConsentTextVersion names the wording of ConsentText. Change both together, never the
	// text alone: consent records name the version they agreed to.
	ConsentTextVersion = "light-lunch-2026-11"
	// ConsentText is what the web form's consent box says.
	ConsentText = "Yes, please send me Light Lunch, the weekly e-bulletin, by email. I can unsubscribe at any time with the link in every issue."
)

// Consent is a record of someone agreeing to receive the bulletin: when, how (SourceWebForm,
// or SourceImportPrefix and the key, with the list's own source), and the wording agreed to.
type Consent struct {
	At          time.Time `json:"at"`
	Source      string    `json:"source"`
	ListSource  string    `json:"list_source,omitempty"` // an imported row's consent_source
	TextVersion string    `json:"text_version,omitempty"`
}

// Limits of subscribing.
const (
	// ConfirmValidity is how long a confirmation link works.
	ConfirmValidity = 7 * 24 * time.Hour
	// MaxConfirmMails is how many confirmation mails one address is sent in any ConfirmWindow.
	MaxConfirmMails = 3
	ConfirmWindow   = 24 * time.Hour
	// SoftBounceLimit transient bounces within SoftBounceWindow suppress an address.
	SoftBounceLimit  = 3
	SoftBounceWindow = 30 * 24 * time.Hour
)

// Subscriber is one address's record, whatever its state. Email is personal data: it is
// never logged.
type Subscriber struct {
	ID           string    `json:"id"`    // NewSubscriberID: random, no personal data
	Email        string    `json:"email"` // as event.NormaliseEmail returns it
	Name         string    `json:"name,omitempty"`
	Organisation string    `json:"organisation,omitempty"`
	State        State     `json:"state"`
	Consent      *Consent  `json:"consent,omitempty"` // the consent in force: set when Subscribed
	CreatedAt    time.Time `json:"created_at"`
	ChangedAt    time.Time `json:"changed_at"` // when State last changed
	// RequestedAt is when the web form last asked to subscribe this address.
	RequestedAt time.Time `json:"requested_at,omitzero"`
	// ConfirmSecret is the secret of the confirmation link (ConfirmToken): it confirms until
	// ConfirmExpires, and once subscribed it shows that they are (a second click) until they
	// leave; "" when they have no link.
	ConfirmSecret  string    `json:"confirm_secret,omitempty"`
	ConfirmExpires time.Time `json:"confirm_expires,omitzero"`
	// ConfirmMails are when confirmation mails were sent within the last ConfirmWindow.
	ConfirmMails []time.Time `json:"confirm_mails,omitempty"`
	// UnsubscribeSecret is the secret of the subscriber's unsubscribe link
	// (UnsubscribeToken). It is made once, with the record, and never changes, so that the
	// link in every issue ever sent keeps working.
	UnsubscribeSecret string `json:"unsubscribe_secret"`
	// SoftBounces are the transient bounces within the last SoftBounceWindow.
	SoftBounces []time.Time `json:"soft_bounces,omitempty"`
	// Version counts the record's writes: each write is conditioned on the version it read.
	Version int64 `json:"version"`
}

// ConfirmResult is what confirming a subscription did.
type ConfirmResult string

// Results of ConfirmSubscription.
const (
	Confirmed        ConfirmResult = "confirmed"         // now subscribed
	AlreadyConfirmed ConfirmResult = "already_confirmed" // was subscribed (the link's own secret): nothing changed
	ConfirmExpired   ConfirmResult = "expired"           // the link is older than ConfirmValidity
	ConfirmInvalid   ConfirmResult = "invalid"           // no such request (or the wrong secret)
)

// ImportCounts is what importing a subscriber list did, row by row: every row is counted
// once.
type ImportCounts struct {
	Added             int `json:"added"`              // new subscribers
	Confirmed         int `json:"confirmed"`          // were pending; now subscribed with the list's consent
	AlreadySubscribed int `json:"already_subscribed"` // left as they were
	Suppressed        int `json:"suppressed"`         // unsubscribed, bounced or complained: not resubscribed
}

// Errors of the stores.
var (
	// ErrBadToken: the token names no subscriber, or its secret is not theirs.
	ErrBadToken = errors.New("bulletin: the link is not valid")
	// ErrIssueStarted: the issue's dispatch has begun, so its upload can no longer change it.
	ErrIssueStarted = errors.New("bulletin: the issue is being sent or was sent")
	// ErrLeaseLost: another invocation holds the issue's dispatch.
	ErrLeaseLost = errors.New("bulletin: the dispatch lease is held by another invocation")
)
