// Package apperr defines the application's coded errors. Every package returns them for
// failures a caller should see (bad input, missing things, conflicts); adapters wrap lower
// errors with context; exactly one table (in package httpapi) maps codes to HTTP statuses.
package apperr

import (
	"errors"
	"fmt"
)

// Codes carried by Error. They appear in API responses as error.code.
const (
	Invalid      = "invalid_parameter" // the request is malformed or a value is out of range
	NotFound     = "not_found"         // the thing asked for does not exist
	Conflict     = "conflict"          // the request clashes with the current state
	Unauthorized = "unauthorized"      // no valid credentials
	TooLarge     = "too_large"         // the request or upload exceeds a size limit
	Internal     = "internal"          // anything else; its detail is logged, never shown

	Unsupported = "unsupported_media_type" // the body is not in a format the route takes (JSON)
	Unavailable = "unavailable"            // too busy to answer in time; the client may retry shortly

	// Conflicts a booking can meet (409), named so a client can tell them apart.
	BookingClosed = "booking_closed" // the event is past, cancelled, or its booking has closed
	SoldOut       = "sold_out"       // no place for this ticket and no waiting list
	AlreadyBooked = "already_booked" // this email address already has a place (or is waiting)
)

// Problem is one thing wrong with a request body, named by its field path
// ("tickets[1].price_pence"); an Invalid error lists every one.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an application error with a code and a message that is safe to show to a client.
type Error struct {
	Code     string
	Message  string
	Problems []Problem // for Invalid bodies: every problem found, in order
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an Invalid error listing problems, with a message naming the first one and
// how many there are.
func Invalidf(problems []Problem) *Error {
	msg := "the request is not valid"
	if len(problems) > 0 {
		msg = problems[0].Field + ": " + problems[0].Message
		if len(problems) == 1 && problems[0].Field == "" {
			msg = problems[0].Message
		}
		if n := len(problems) - 1; n == 1 {
			msg += " (and 1 more problem)"
		} else if n > 1 {
			msg += fmt.Sprintf(" (and %d more problems)", n)
		}
	}
	return &Error{Code: Invalid, Message: msg, Problems: problems}
}

// ProblemsOf returns the problems of the first *Error in err's chain.
func ProblemsOf(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

// Code returns the code of the first *Error in err's chain, or Internal.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Message returns the client-safe message of the first *Error in err's chain, or
// "internal error" for anything else.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
