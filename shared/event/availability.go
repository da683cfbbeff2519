package event

// Availability and prices as the public reads them: whether an event and each of its tickets
// can be booked ("available", "few-left", "waiting-list", "full", "closed", "cancelled"),
// computed from the counts the store keeps, and prices written as a person would ("Free",
// "£95", "£12.50", "£1,250").

import (
	"strconv"
	"time"
)

// Left returns the places left at the event as a whole (never below 0), whatever the
// tickets.
func (e *Event) Left() int { return max(e.Capacity-e.Confirmed, 0) }

// TicketLeft returns the places left for ticket t: the event's places left, or fewer when t's
// own capacity is nearer to full.
func (e *Event) TicketLeft(t Ticket) int {
	left := e.Left()
	if t.Capacity > 0 {
		left = min(left, max(t.Capacity-e.TicketConfirmed[t.ID], 0))
	}
	return left
}

// Open reports whether the event takes bookings at now: published, and now before both
// booking_closes_at and ends_at.
func (e *Event) Open(now time.Time) bool {
	return e.Status == StatusPublished && now.Before(e.BookingClosesAt) && now.Before(e.EndsAt)
}

// Availability returns the event's availability at now: cancelled; closed once booking has
// closed or the event has ended (and for a draft); otherwise the best availability among its
// tickets, so that an event reads "available" while any of its tickets is.
func (e *Event) Availability(now time.Time) string {
	switch {
	case e.Status == StatusCancelled:
		return Cancelled
	case !e.Open(now):
		return Closed
	}
	if len(e.Tickets) == 0 {
		return e.availability(e.Left(), e.Capacity)
	}
	best := Full
	for _, t := range e.Tickets {
		if a := e.TicketAvailability(t, now); rank(a) < rank(best) {
			best = a
		}
	}
	return best
}

// TicketAvailability returns ticket t's availability at now: as the event's when cancelled or
// closed; otherwise from its places left (TicketLeft): "few-left" at most 5 or at most 10% of
// its capacity (its own when it has one), "waiting-list" when none are left and the event
// has a waiting list, "full" when it has not.
func (e *Event) TicketAvailability(t Ticket, now time.Time) string {
	switch {
	case e.Status == StatusCancelled:
		return Cancelled
	case !e.Open(now):
		return Closed
	}
	capacity := e.Capacity
	if t.Capacity > 0 {
		capacity = min(capacity, t.Capacity)
	}
	return e.availability(e.TicketLeft(t), capacity)
}

// availability reads left places out of capacity.
func (e *Event) availability(left, capacity int) string {
	switch {
	case left <= 0 && e.WaitingList:
		return WaitingList
	case left <= 0:
		return Full
	case left <= 5 || left*10 <= capacity:
		return FewLeft
	}
	return Available
}

// rank orders the availabilities of an open event, best first.
func rank(a string) int {
	switch a {
	case Available:
		return 0
	case FewLeft:
		return 1
	case WaitingList:
		return 2
	}
	return 3
}

// PriceFrom returns the lowest ticket price, in pence and as FormatPrice writes it ("From
// £95" in a listing); 0 and "Free" when a ticket is free or the event has none.
func (e *Event) PriceFrom() (pence int, label string) {
	for i, t := range e.Tickets {
		if i == 0 || t.PricePence < pence {
			pence = t.PricePence
		}
	}
	return pence, FormatPrice(pence)
}

// FormatPrice writes a price in pence as the site shows it: "Free" for 0, whole pounds
// without pence ("£95", "£1,250"), otherwise with two digits of pence ("£12.50",
// "£1,250.05"); thousands are separated by commas.
func FormatPrice(pence int) string {
	if pence == 0 {
		return "Free"
	}
	sign, u := "", uint64(pence)
	if pence < 0 {
		sign, u = "-", -u
	}
	s := sign + "£" + thousands(u/100)
	if p := u % 100; p != 0 {
		s += "." + strconv.FormatUint(p/10, 10) + strconv.FormatUint(p%10, 10)
	}
	return s
}

// thousands writes n with commas between groups of three digits.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
