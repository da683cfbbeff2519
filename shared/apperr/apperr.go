// Package apperr defines the application's coded errors. Every package returns them for
// failures a caller should see (bad input, missing things, conflicts); adapters wrap lower
// errors with context; exactly one table (in package httpapi) maps codes to HTTP statuses.
package apperr

import (
	"errors"
	"fmt"
)

// Codes carried by Error. They appear in API responses as error.code. Conflict, Unauthorized
// and TooLarge have no user yet: the events and bulletin routes (capacity, tokens in links,
// request bodies) are theirs; httpapi already maps them.
const (
	Invalid      = "invalid_parameter" // the request is malformed or a value is out of range
	NotFound     = "not_found"         // the thing asked for does not exist
	Conflict     = "conflict"          // the request clashes with the current state
	Unauthorized = "unauthorized"      // no valid credentials
	TooLarge     = "too_large"         // the request or upload exceeds a size limit
	Internal     = "internal"          // anything else; its detail is logged, never shown
)

// Error is an application error with a code and a message that is safe to show to a client.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
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
