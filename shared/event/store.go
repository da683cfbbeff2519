package event

import "sectorhub/shared/mail"

// BookOptions is what a booking writes besides the booking itself: the hash of its cancel
// link's token, the idempotency record (hashes of the Idempotency-Key header and of the body)
// and how to render its first mail once the store knows whether the place is confirmed or on
// the waiting list (the mail is recorded in the same transaction as the booking).
type BookOptions struct {
	TokenHash      string
	IdempotencyKey string // sha256 hex of the header, or "" when none was sent
	RequestHash    string // sha256 hex of the body
	Render         func(Booking) (mail.Mail, error)
}

// CancelResult is what cancelling a booking did: the booking as it now is, whether it was
// already cancelled (nothing was written), who was promoted from the waiting list into the
// freed place, and the outbox IDs of the mails recorded (to send at once).
type CancelResult struct {
	Booking          Booking
	AlreadyCancelled bool
	Promoted         []Booking
	MailIDs          []string
}
