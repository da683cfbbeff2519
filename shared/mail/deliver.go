package mail

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Outbox is where mail waits to be sent (shared/dynamo implements it on the table). Every
// change of status is conditional, so that of several senders exactly one sends a mail:
//
//	pending ──ClaimMail──▶ sending ──MarkMailSent──▶ sent
//	   ▲                      │ ├────FailMail─────▶ failed
//	   └──────RetryMail───────┘ └─MarkMailUncertain─▶ uncertain (lease over, outcome unknown)
//
// A change whose condition no longer holds (another sender got there first) fails with an
// error wrapping ErrStale.
type Outbox interface {
	// PutMail records m as pending, due at now, unless a mail with its ID is recorded
	// already (then created is false and nothing changes).
	PutMail(ctx context.Context, m Mail, now time.Time) (created bool, err error)
	// ClaimMail moves the mail with id from pending to sending until now+lease, if it is
	// pending and due at now, and returns it (with Raw and To); ok is false when it is not
	// claimable (unknown, not due, claimed by another sender, or done).
	ClaimMail(ctx context.Context, id string, now time.Time, lease time.Duration) (m Mail, ok bool, err error)
	// MarkMailSent records that SES accepted the claimed mail m (its messageID) at now,
	// drops its body and recipients, and stamps m.Stamp's record.
	MarkMailSent(ctx context.Context, m Mail, messageID string, now time.Time) error
	// RetryMail gives the claimed mail m back as pending, due at at, one attempt more, with
	// the error code that stopped it.
	RetryMail(ctx context.Context, m Mail, at time.Time, code string) error
	// FailMail records that the claimed mail m will never be sent (code says why).
	FailMail(ctx context.Context, m Mail, code string, now time.Time) error
	// MarkMailUncertain records that the mail with id was claimed and its lease ended at or
	// before now without an outcome: it may have gone, and it is never sent again.
	MarkMailUncertain(ctx context.Context, id string, now time.Time) error
	// DueMail returns up to limit mails that need attention at now, oldest first: pending
	// ones due by now, and sending ones whose lease has ended. Raw and To are left out.
	DueMail(ctx context.Context, now time.Time, limit int) ([]Mail, error)
}

// Sender sends a built message (Build) through a mail service: SES's SendRawEmail (SES).
// One call is one attempt: it does not retry by itself, so that an answer lost in the
// network never becomes a second copy of a mail.
type Sender interface {
	SendRaw(ctx context.Context, from string, to []string, raw []byte) (messageID string, err error)
}

// Delivery policy.
const (
	// Lease is how long a claimed mail is its sender's. A sender that has not recorded the
	// outcome by then is taken to have died, and the mail becomes Uncertain.
	Lease = 2 * time.Minute
	// MaxAttempts is how many times a mail is tried before a temporary error fails it: with
	// RetryDelay, the last attempt is about six hours after the first.
	MaxAttempts = 12
	// recordTimeout bounds recording an outcome, which goes on after the caller's context
	// has ended: a mail SES took must be recorded as sent, not left to become uncertain.
	recordTimeout = 10 * time.Second

	// InlineSendTimeout bounds the SES call of a mail Deliver sends. Deliver runs inside
	// the API functions, whose Lambda timeout is 10 seconds: with recordMargin, it needs 7 of
	// them left, which a booking request has (its transaction takes milliseconds).
	InlineSendTimeout = 5 * time.Second
	// SweepSendTimeout bounds the SES call of each mail Sweep sends (SES answers in well
	// under a second; a call that takes this long is not going to be answered). Sweep runs
	// in functions with a minute or more: it starts a mail only with 12 seconds left.
	SweepSendTimeout = 10 * time.Second
	// recordMargin is the time a sender keeps, besides the SES call's timeout, for claiming
	// the mail before it and recording the outcome after it (one or two DynamoDB writes).
	recordMargin = 2 * time.Second
)

// Outcome errors of Deliver. Deliver's errors carry the mail's ID and an error code, never an
// address or SES's message (which can quote addresses): they are safe to log.
var (
	// ErrRetryLater: SES did not take the mail this time; it is pending again, due later.
	ErrRetryLater = errors.New("mail not accepted now; it will be retried")
	// ErrRejected: the mail will never be sent (SES rejected it, or every attempt failed).
	ErrRejected = errors.New("mail failed for good")
	// ErrOutcomeUnknown: the request reached SES, or may have, and no answer came back. The
	// mail stays claimed until its lease ends, then becomes Uncertain: never sent twice.
	ErrOutcomeUnknown = errors.New("mail may or may not have been sent")
	// ErrStale: an outbox change found the mail no longer in the state it requires.
	ErrStale = errors.New("mail: the outbox record changed since it was read")
)

// RetryDelay is the wait before attempt n+1 after n failed attempts: 1 minute, doubling,
// at most an hour.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 7 {
		return time.Hour
	}
	return min(time.Minute<<(n-1), time.Hour)
}

// outcome is what one delivery did.
type outcome int

const (
	notClaimed outcome = iota // someone else's, not due, or done: nothing to do
	sent
	retried
	failed
	unknown
)

// Deliver sends the outbox mail with id, if it can claim it at now (pending and due): claim
// (lease Lease), SendRaw, then record the outcome. It is the inline send, right after the
// write that recorded the mail; Sweep sends whatever is left. It returns nil when the mail
// was sent or was not this call's to send (sent already, claimed by another sender, not due
// yet), and also when ctx's deadline is less than InlineSendTimeout plus recordMargin (7 s)
// away: then it does not claim the mail at all, and leaves it pending for the next Sweep
// (within a minute). A claim cut short by the end of the function (a Lambda invocation
// frozen or stopped at its deadline) would leave the mail claimed, and so Uncertain and never
// sent: Deliver claims only what it has the time to send and record. An API function
// (10 s Lambda timeout; Lambda's ctx has that deadline, as the local stack's does) has about
// 9.9 s left when a booking's transaction is done, so the booking's mail goes at once;
// without a deadline (tests, scripts) Deliver always claims.
//
// The SES call has its own timeout, InlineSendTimeout, and is not cut short by ctx: once a
// mail is claimed, a send stopped half way could not tell whether SES took it (the mail would
// be Uncertain), and the deadline check above leaves the time for it. A call that times out
// after its request was sent is ErrOutcomeUnknown like any other call that got no answer.
//
// When SES does not take it, the error wraps:
//
//   - ErrRetryLater for a temporary error (Temporary): pending again after RetryDelay; after
//     MaxAttempts attempts it fails instead (ErrRejected);
//   - ErrRejected for a rejection of the mail itself (Permanent): Failed, never retried;
//   - ErrOutcomeUnknown when no answer came back: it stays claimed and becomes Uncertain
//     when the lease ends (Sweep), so that it is never sent twice.
//
// Any other error is the outbox's. Deliver never sends a mail it did not claim. Once SES has
// answered, the outcome is recorded even if ctx ends meanwhile.
func Deliver(ctx context.Context, ob Outbox, s Sender, id string, now time.Time) error {
	_, err := deliver(ctx, ob, s, id, now, InlineSendTimeout)
	return err
}

// deliver is Deliver with the SES call's timeout (InlineSendTimeout or SweepSendTimeout); it
// claims nothing unless ctx leaves sendTimeout + recordMargin.
func deliver(ctx context.Context, ob Outbox, s Sender, id string, now time.Time, sendTimeout time.Duration) (outcome, error) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < sendTimeout+recordMargin {
		return notClaimed, nil
	}
	m, ok, err := ob.ClaimMail(ctx, id, now, Lease)
	if err != nil {
		return notClaimed, fmt.Errorf("claim mail %s: %w", id, err)
	}
	if !ok {
		return notClaimed, nil
	}
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if m.Raw == nil || m.From == "" || len(m.To) == 0 {
		if err := ob.FailMail(record, m, "incomplete_mail", now); err != nil {
			return failed, fmt.Errorf("fail mail %s: %w", id, err)
		}
		return failed, fmt.Errorf("mail %s has no body, sender or recipient: %w", id, ErrRejected)
	}
	if ctx.Err() != nil {
		// Claimed but not sent: give it back, due at once.
		if err := ob.RetryMail(record, m, now, "canceled"); err != nil {
			return retried, fmt.Errorf("give back mail %s: %w", id, err)
		}
		return retried, fmt.Errorf("mail %s not sent: %w: %w", id, ErrRetryLater, ctx.Err())
	}

	send, cancelSend := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	messageID, sendErr := s.SendRaw(send, m.From, m.To, m.Raw)
	cancelSend()
	if sendErr == nil {
		if err := ob.MarkMailSent(record, m, messageID, now); err != nil {
			return sent, fmt.Errorf("mail %s was sent but is not recorded as sent: %w", id, err)
		}
		return sent, nil
	}
	code := Code(sendErr)
	switch {
	case Permanent(sendErr), Temporary(sendErr) && m.Attempts+1 >= MaxAttempts:
		if err := ob.FailMail(record, m, code, now); err != nil {
			return failed, fmt.Errorf("fail mail %s (%s): %w", id, code, err)
		}
		return failed, fmt.Errorf("mail %s after %d attempt(s) (%s): %w", id, m.Attempts+1, code, ErrRejected)
	case Temporary(sendErr):
		at := now.Add(RetryDelay(m.Attempts + 1))
		if err := ob.RetryMail(record, m, at, code); err != nil {
			return retried, fmt.Errorf("retry mail %s (%s): %w", id, code, err)
		}
		return retried, fmt.Errorf("mail %s (%s), next attempt at %s: %w", id, code, at.UTC().Format(time.RFC3339), ErrRetryLater)
	default:
		return unknown, fmt.Errorf("mail %s (%s): %w", id, code, ErrOutcomeUnknown)
	}
}

// outcomeErr reports whether err is one of Deliver's outcome errors rather than a failure
// of the outbox itself.
func outcomeErr(err error) bool {
	return errors.Is(err, ErrRetryLater) || errors.Is(err, ErrRejected) || errors.Is(err, ErrOutcomeUnknown)
}
