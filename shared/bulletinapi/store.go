package bulletinapi

import (
	"context"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/mail"
)

// SubscriberStore keeps subscribers (package dynamo's Store).
type SubscriberStore interface {
	// RequestSubscription records a web-form request to subscribe sub at now. Unless the
	// address is Subscribed already, or has had MaxConfirmMails confirmation mails in the last
	// ConfirmWindow, it gives the record a confirmation secret (keeping one that has not
	// expired, or making a new one valid for ConfirmValidity), notes the mail, and records
	// the mail build returns for the record as it will be stored, in the outbox, in the same
	// transaction (mail.Mail). It returns the outbox mail's ID, or "" when no mail is due.
	// A new address becomes Pending; a suppressed one keeps its state until confirmed. Name
	// and organisation are updated unless the address is Subscribed.
	RequestSubscription(ctx context.Context, sub bulletin.Subscription, now time.Time, build func(bulletin.Subscriber) (mail.Mail, error)) (mailID string, err error)
	// ConfirmSubscription confirms the request whose token is id and secret: the subscriber
	// becomes Subscribed with consent {now, SourceWebForm, ConsentTextVersion}, and its
	// link keeps showing that they are subscribed until they leave.
	ConfirmSubscription(ctx context.Context, id, secret string, now time.Time) (bulletin.ConfirmResult, error)
	// SubscriberByID returns the record with id.
	SubscriberByID(ctx context.Context, id string) (bulletin.Subscriber, bool, error)
	// Unsubscribe makes the subscriber with id and unsubscribe secret Unsubscribed at now
	// (changed false when they were not Subscribed or Pending: nothing changes). ErrBadToken
	// when no record has both.
	Unsubscribe(ctx context.Context, id, secret string, now time.Time) (changed bool, err error)
	// Suppress makes the address Bounced or Complained (state) at now, creating a record for
	// an address it has none for, so that a later import does not subscribe it.
	Suppress(ctx context.Context, email string, state bulletin.State, now time.Time) (changed bool, err error)
	// SoftBounce records a transient bounce of the address at now; the SoftBounceLimit-th
	// within SoftBounceWindow makes it Bounced (suppressed true). Addresses without a record
	// are ignored.
	SoftBounce(ctx context.Context, email string, now time.Time) (suppressed bool, err error)
	// ImportSubscribers makes every row a Subscribed subscriber with the consent
	// {row.ConsentedAt, SourceImportPrefix+key, row.ConsentSource}, except addresses that
	// are suppressed (counted, unchanged) or subscribed already (counted, unchanged). Running
	// it again with the same rows changes nothing more.
	ImportSubscribers(ctx context.Context, key string, rows []bulletin.ImportRow, now time.Time) (bulletin.ImportCounts, error)
	// SubscribedCount counts the Subscribed subscribers.
	SubscribedCount(ctx context.Context) (int, error)
}
