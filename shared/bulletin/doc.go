// Package bulletin is the Light Lunch e-bulletin's domain: what a subscription request, an
// issue upload (bulletins/<yyyy-mm-dd>.md) and a subscriber list import
// (subscribers/<name>.csv) may hold, and how each is read and checked. It is pure: it reads
// bytes and returns values or every problem found, imports no AWS SDK and keeps no state.
// The subscriber store, the dispatch and the HTTP routes are to be built on it later, in
// their own packages.
//
// Email addresses are checked as bookings check them (event.NormaliseEmail), so that every
// address accepted here can be mailed. Problems with a subscription body or a subscriber list
// never quote what was sent: their values are personal data.
package bulletin

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits shared by the formats, in characters (runes).
const (
	MaxName          = 200 // a subscriber's name
	MaxOrganisation  = 200 // a subscriber's organisation
	MaxConsentSource = 200 // where an imported subscriber's consent was given
	MaxSubject       = 150 // an issue's subject line
	MaxPreheader     = 200 // an issue's preheader (the preview text after the subject)
)

// LineProblem checks that s (already trimmed) is one line of at most max characters, without
// control characters or Unicode line separators, and returns what is wrong with it ("" when
// nothing is), in words that do not quote it.
func LineProblem(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("is %d characters long; at most %d are allowed", n, max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
		return "must be one line, without line breaks, tabs or control characters"
	}
	return ""
}
