package event

import "sectorhub/shared/apperr"

// Errors the store returns for bookings and event changes. Each is an *apperr.Error with a
// message safe to show to anyone: none names a person, an email address or another booking.
// Compare with errors.Is (they are returned as they are, or wrapped with %w).
var (
	// ErrBookingClosed: the event is not published (a draft, or cancelled), or its booking
	// has closed (booking_closes_at passed).
	ErrBookingClosed = &apperr.Error{Code: apperr.BookingClosed, Message: "booking for this event is closed"}
	// ErrSoldOut: no place is left for the ticket (the event's, or the ticket's own limit) and
	// the event has no waiting list; or the ticket is no longer offered.
	ErrSoldOut = &apperr.Error{Code: apperr.SoldOut, Message: "there are no places left for this ticket, and the event has no waiting list"}
	// ErrAlreadyBooked: the email address already has a confirmed or waiting-list booking for
	// the event. It says nothing about that booking; the confirmation mail went to the address.
	ErrAlreadyBooked = &apperr.Error{Code: apperr.AlreadyBooked, Message: "this email address already has a booking for this event; check your email for the confirmation"}
	// ErrIdempotencyKeyReused: an Idempotency-Key came again with a different booking body.
	ErrIdempotencyKeyReused = &apperr.Error{Code: apperr.Conflict, Message: "this Idempotency-Key was used for a different booking"}
	// ErrEventChanged: someone else changed the event after it was read for an update.
	ErrEventChanged = &apperr.Error{Code: apperr.Conflict, Message: "the event was changed by someone else since it was read; read it again and retry"}
	// ErrEventConflict: an update clashes with the event's bookings (capacity below the
	// confirmed places, a ticket's limit below its confirmed places, a price change or removal
	// of a ticket that has confirmed places, or of any ticket while anyone is on the waiting
	// list). The handler explains which (PatchConflict).
	ErrEventConflict = &apperr.Error{Code: apperr.Conflict, Message: "the change conflicts with the event's bookings"}
	// ErrEventCancelled: the attendee asked to cancel a booking of an event that staff have
	// cancelled; the booking goes with the event, and nothing is written.
	ErrEventCancelled = &apperr.Error{Code: apperr.Conflict, Message: "this event has been cancelled; your booking is cancelled with it"}
	// ErrEventNotFound: no event has the ID.
	ErrEventNotFound = &apperr.Error{Code: apperr.NotFound, Message: "no event has this id"}
	// ErrBookingNotFound: the event has no booking with the ID (or the link is not valid).
	ErrBookingNotFound = &apperr.Error{Code: apperr.NotFound, Message: "no booking was found"}
)

// ErrBusy is a booking that could not be decided before the request's deadline because many
// others were being made into the same event at once: nothing was booked; the client may
// send the same request again (with its Idempotency-Key) in a moment.
var ErrBusy = &apperr.Error{Code: apperr.Unavailable, Message: "many people are booking this event at this moment; nothing was booked: please try again in a few seconds"}
