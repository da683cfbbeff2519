package event

// Validation of the public booking body (POST /events/{id}/bookings), against the event being
// booked: which ticket, whether it needs an organisation (members only) or an invoice (paid).
// Its values are personal data, so no message quotes them.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	netmail "net/mail"
	"strings"

	"sectorhub/shared/apperr"
	"sectorhub/shared/mail"
)

// Limits of the booking body.
const (
	MaxName          = 200 // characters
	MaxEmail         = 254 // bytes (RFC 5321's limit on a path)
	MaxEmailLocal    = 64  // bytes before the @ (RFC 5321's limit, which SES enforces)
	MaxOrganisation  = 200
	MaxJobTitle      = 200
	MaxAccessNeeds   = 1_000 // line breaks allowed
	MaxDietary       = 500   // line breaks allowed
	MaxInvoiceAddr   = 500   // line breaks allowed
	MaxPurchaseOrder = 100
)

var (
	bookingFields = []string{"name", "email", "organisation", "ticket", "job_title", "access_needs", "dietary", "invoice"}
	invoiceFields = []string{"billing_email", "purchase_order", "address"}
)

// ParseBooking validates the body of POST /events/{id}/bookings for ev and returns the request,
// or every problem found. Text is trimmed (line breaks allowed only in access_needs, dietary
// and the invoice address); email addresses are bare addresses (no display name), in ASCII,
// with the domain in lower case. organisation is required for a members-only ticket; invoice
// is required for a paid ticket and dropped, unread, for a free one. Whether the event takes
// bookings is not checked here.
func ParseBooking(body []byte, ev Event) (BookingRequest, []apperr.Problem) {
	d := &decoder{}
	ms, ok := d.body(body)
	if !ok {
		return BookingRequest{}, d.problems
	}
	set := d.fields("", ms, bookingFields, nil)
	str := func(name string) string {
		if raw, ok := set[name]; ok && !isNull(raw) {
			s, _ := d.str(name, raw)
			return s
		}
		return ""
	}
	var r BookingRequest
	r.Name = d.text("name", str("name"), textRule{required: true, max: MaxName, what: "your name"})
	r.Email = d.email("email", str("email"))
	r.Organisation = d.text("organisation", str("organisation"), textRule{max: MaxOrganisation, what: "your organisation"})

	r.Ticket = str("ticket")
	t, known := ev.Ticket(r.Ticket)
	switch {
	case r.Ticket == "":
		d.add("ticket", "is required: the id of one of this event's tickets (%s)", ticketIDs(ev))
	case !known:
		d.add("ticket", "must be the id of one of this event's tickets (%s)", ticketIDs(ev))
	case t.MembersOnly && r.Organisation == "":
		d.add("organisation", "is required for the %q ticket, which is for members only: give your member organisation", t.Label)
	}

	r.JobTitle = d.text("job_title", str("job_title"), textRule{max: MaxJobTitle, what: "your job title"})
	r.AccessNeeds = d.text("access_needs", str("access_needs"), textRule{max: MaxAccessNeeds, multiLine: true, what: "access needs"})
	r.Dietary = d.text("dietary", str("dietary"), textRule{max: MaxDietary, multiLine: true, what: "dietary requirements"})

	raw, given := set["invoice"]
	given = given && !isNull(raw)
	switch {
	case known && t.PricePence == 0:
		// A free place needs no invoice: whatever was sent is ignored.
	case given:
		r.Invoice = d.invoice("invoice", raw)
	case known:
		d.add("invoice", "is required for a paid ticket (%s): {\"billing_email\", \"address\", \"purchase_order\" (optional)}", FormatPrice(t.PricePence))
	}

	if len(d.problems) > 0 {
		sortProblems(d.problems, bookingFields, invoiceFields)
		return BookingRequest{}, d.problems
	}
	return r, nil
}

// invoice decodes and checks the invoice object.
func (d *decoder) invoice(path string, raw json.RawMessage) *Invoice {
	ms, ok := d.object(path, raw)
	if !ok {
		return nil
	}
	set := d.fields(path, ms, invoiceFields, nil)
	str := func(name string) string {
		if raw, ok := set[name]; ok && !isNull(raw) {
			s, _ := d.str(join(path, name), raw)
			return s
		}
		return ""
	}
	return &Invoice{
		BillingEmail:  d.email(join(path, "billing_email"), str("billing_email")),
		PurchaseOrder: d.text(join(path, "purchase_order"), str("purchase_order"), textRule{max: MaxPurchaseOrder, what: "a purchase order number"}),
		Address:       d.text(join(path, "address"), str("address"), textRule{required: true, max: MaxInvoiceAddr, multiLine: true, what: "the billing address"}),
	}
}

// ticketIDs lists ev's ticket ids for a message.
func ticketIDs(ev Event) string {
	ids := make([]string, len(ev.Tickets))
	for i, t := range ev.Tickets {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

// email checks a required email address and returns it trimmed, with its domain in lower case.
func (d *decoder) email(path, s string) string {
	s = strings.TrimSpace(s)
	e, msg := NormaliseEmail(s)
	if msg != "" {
		d.add(path, "%s", msg)
	}
	return e
}

// NormaliseEmail returns the address s with its domain in lower case, or a message saying
// what is wrong with it (never quoting it): one bare address (net/mail's addr-spec, no display
// name, no quoted local part), at most 254 bytes with at most 64 before the @, ASCII only
// (SES sends to no other), with a domain of at least two dot-separated labels that IDNA
// accepts (no "--" in a label's third and fourth places unless it is a valid xn-- label).
// Every address it accepts is one the mail builder accepts (mail.CheckAddress), so that a
// booking that stands can always be mailed.
func NormaliseEmail(s string) (string, string) {
	const like = "name@example.org"
	switch {
	case s == "":
		return "", "is required: an email address such as " + like
	case len(s) > MaxEmail:
		return "", "is too long for an email address (at most 254 characters)"
	case strings.ContainsFunc(s, func(r rune) bool { return r > '~' }):
		return "", "must be written in plain ASCII (for an international domain, use its xn-- form)"
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' }):
		return "", "must be just an email address, such as " + like
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", "must be just an email address, such as " + like
	}
	at := strings.LastIndexByte(s, '@')
	if at > MaxEmailLocal {
		return "", "has too long a name before the @ (at most 64 characters)"
	}
	domain := strings.ToLower(s[at+1:])
	if !hostname(domain) {
		return "", "must be an email address with a full domain, such as " + like
	}
	e := s[:at+1] + domain
	if mail.CheckAddress(e) != nil {
		return "", "must be an email address with a valid domain, such as " + like
	}
	return e, ""
}

// hostname reports whether s is a DNS name of at least two labels of letters, digits and
// hyphens (not at either end), the last not all digits.
func hostname(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 || len(s) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// EmailKey is the key of the email lock (the M# item: one booking per address per event): the
// SHA-256, in hex, of the address trimmed and in lower case.
func EmailKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}
