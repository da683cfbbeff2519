// Package event is the events capability: what an event, a ticket and a booking are, how staff
// input and booking requests are validated, how availability and prices read, and the
// iCalendar file. It imports no AWS SDK; shared/dynamo stores events and bookings
// (events.go, bookings.go) and shared/eventapi serves them.
package event

import "time"

// Types of event, in display order.
const (
	TypeConference     = "conference"
	TypeTraining       = "training"
	TypeWebinar        = "webinar"
	TypeNetworkMeeting = "network-meeting"
)

// Types lists the event types, in display order.
var Types = []string{TypeConference, TypeTraining, TypeWebinar, TypeNetworkMeeting}

// Statuses of an event.
const (
	StatusDraft     = "draft"     // staff only; 404 in public
	StatusPublished = "published" // listed and bookable until booking closes
	StatusCancelled = "cancelled" // shown as cancelled; bookings closed; attendees emailed once
)

// Availability of an event or a ticket, as the public sees it.
const (
	Available   = "available"
	FewLeft     = "few-left"     // at most 10% or at most 5 places left
	WaitingList = "waiting-list" // full, but the waiting list is open
	Full        = "full"         // full, no waiting list
	Closed      = "closed"       // booking has closed (booking_closes_at passed, or the event ended)
	Cancelled   = "cancelled"    // the event is cancelled
)

// Location is where an event happens. JoiningURL is for confirmed attendees only: it is
// never in a public response (Public drops it).
type Location struct {
	Online     bool   `json:"online"`
	JoiningURL string `json:"joining_url,omitempty"`
	Venue      string `json:"venue,omitempty"`
	Address    string `json:"address,omitempty"`
	Postcode   string `json:"postcode,omitempty"`
}

// Public returns l without its joining URL.
func (l Location) Public() Location {
	l.JoiningURL = ""
	return l
}

// Ticket is one kind of place at an event, with its price. Capacity 0 means no limit of its
// own (the event's capacity still applies).
type Ticket struct {
	ID          string `json:"id"`
	Label       string `json:"label"`
	PricePence  int    `json:"price_pence"`
	MembersOnly bool   `json:"members_only"`
	Capacity    int    `json:"capacity,omitempty"`
}

// Event is an event as staff create it, with what the store keeps about it. Counts are kept
// with it by the store (Confirmed, Waiting, TicketConfirmed) and are read-only to staff.
type Event struct {
	ID              string    `json:"id"`
	Title           string    `json:"title"`
	Summary         string    `json:"summary"`
	Description     string    `json:"description"`      // Markdown, as staff wrote it
	DescriptionHTML string    `json:"description_html"` // rendered and sanitised at write time
	Type            string    `json:"type"`
	StartsAt        time.Time `json:"starts_at"`
	EndsAt          time.Time `json:"ends_at"`
	Timezone        string    `json:"timezone"` // IANA name; Europe/London by default
	Location        Location  `json:"location"`
	Capacity        int       `json:"capacity"`
	WaitingList     bool      `json:"waiting_list"`
	BookingClosesAt time.Time `json:"booking_closes_at"` // starts_at unless staff set it
	Tickets         []Ticket  `json:"tickets"`
	Themes          []string  `json:"themes,omitempty"`  // casestudy.Themes slugs
	Regions         []string  `json:"regions,omitempty"` // casestudy.Regions slugs
	Status          string    `json:"status"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	CancelledAt     time.Time `json:"cancelled_at,omitzero"`

	// Kept by the store, changed only by bookings and cancellations.
	Confirmed       int            `json:"confirmed"`        // confirmed places, all tickets
	Waiting         int            `json:"waiting"`          // people on the waiting list now
	TicketConfirmed map[string]int `json:"ticket_confirmed"` // confirmed places per ticket ID
}

// Ticket returns the ticket with id, if the event has it.
func (e *Event) Ticket(id string) (Ticket, bool) {
	for _, t := range e.Tickets {
		if t.ID == id {
			return t, true
		}
	}
	return Ticket{}, false
}

// Booking statuses.
const (
	BookingConfirmed  = "confirmed"
	BookingWaitlisted = "waitlisted"
	BookingCancelled  = "cancelled"
)

// Invoice is who pays for a paid place, and how.
type Invoice struct {
	BillingEmail  string `json:"billing_email"`
	PurchaseOrder string `json:"purchase_order,omitempty"`
	Address       string `json:"address"`
}

// BookingRequest is the body of POST /events/{id}/bookings, validated (ParseBooking).
type BookingRequest struct {
	Name         string   `json:"name"`
	Email        string   `json:"email"`
	Organisation string   `json:"organisation"`
	Ticket       string   `json:"ticket"`
	JobTitle     string   `json:"job_title,omitempty"`
	AccessNeeds  string   `json:"access_needs,omitempty"`
	Dietary      string   `json:"dietary,omitempty"`
	Invoice      *Invoice `json:"invoice,omitempty"`
}

// Booking is one person's place (or place on the waiting list) at an event. Its personal data
// is never logged; Token is the secret of the attendee's cancel link (never shown to staff,
// never logged) and is kept so that later mails (reminder, promotion) can carry the link.
type Booking struct {
	ID          string    `json:"id"`
	EventID     string    `json:"event_id"`
	Status      string    `json:"status"`
	Position    int       `json:"position,omitempty"` // 1, 2, ...: the order of joining the waiting list
	AmountPence int       `json:"amount_pence"`
	CreatedAt   time.Time `json:"created_at"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"` // at booking, or at promotion from the waiting list
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
	Token       string    `json:"token,omitempty"`
	// Mails records when each mail about this booking was sent, by kind (MailConfirmation, ...).
	Mails map[string]time.Time `json:"mails,omitempty"`
	BookingRequest
}

// Kinds of mail about a booking; each is sent at most once per booking (its outbox ID is
// MailID(kind, booking ID)).
const (
	MailConfirmation   = "confirmation"    // booked and confirmed
	MailWaitlisted     = "waitlisted"      // on the waiting list, with the position
	MailPromoted       = "promoted"        // moved from the waiting list to a confirmed place
	MailCancelled      = "cancelled"       // the attendee cancelled
	MailEventCancelled = "event-cancelled" // staff cancelled the event
	MailReminder       = "reminder"        // about 24 hours before the event
)

// MailID is the outbox ID of the mail of kind about booking: the same booking never gets the
// same kind of mail twice, however often a handler runs.
func MailID(kind, bookingID string) string { return "event-" + kind + "-" + bookingID }
