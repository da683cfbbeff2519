package event

import (
	"testing"
	"time"
)

func TestAvailability(t *testing.T) {
	start := now.Add(48 * time.Hour)
	event := func(capacity, confirmed int, waiting bool, tickets ...Ticket) Event {
		counts := map[string]int{}
		for _, tk := range tickets {
			counts[tk.ID] = tk.PricePence // the tests carry a ticket's confirmed count in its price
		}
		return Event{
			Status: StatusPublished, StartsAt: start, EndsAt: start.Add(time.Hour), BookingClosesAt: start,
			Capacity: capacity, Confirmed: confirmed, WaitingList: waiting, Tickets: tickets, TicketConfirmed: counts,
		}
	}
	open := Ticket{ID: "open"}
	limited := func(capacity, confirmed int) Ticket {
		return Ticket{ID: "limited", Capacity: capacity, PricePence: confirmed}
	}
	cases := []struct {
		name      string
		ev        Event
		at        time.Time
		want      string
		ticket    Ticket // checked with TicketAvailability when ID is set
		wantTk    string
		wantLeft  int
		wantTLeft int
	}{
		{name: "empty", ev: event(100, 0, false, open), want: Available, ticket: open, wantTk: Available, wantLeft: 100, wantTLeft: 100},
		{name: "11% left", ev: event(100, 89, false, open), want: Available, wantLeft: 11},
		{name: "10% left", ev: event(100, 90, false, open), want: FewLeft, wantLeft: 10},
		{name: "6 of 30 left", ev: event(30, 24, false, open), want: Available, wantLeft: 6},
		{name: "5 of 30 left", ev: event(30, 25, false, open), want: FewLeft, wantLeft: 5},
		{name: "1 of 1000 left", ev: event(1000, 999, true, open), want: FewLeft, wantLeft: 1},
		{name: "full with waiting list", ev: event(50, 50, true, open), want: WaitingList, wantLeft: 0},
		{name: "full", ev: event(50, 50, false, open), want: Full, wantLeft: 0},
		{name: "over full", ev: event(50, 51, false, open), want: Full, wantLeft: 0},
		{name: "closes now", ev: event(50, 0, true, open), at: start, want: Closed, wantLeft: 50},
		{name: "closed early", ev: func() Event { e := event(50, 0, true, open); e.BookingClosesAt = now; return e }(), want: Closed, ticket: open, wantTk: Closed, wantLeft: 50, wantTLeft: 50},
		{name: "ended", ev: func() Event { e := event(50, 0, true, open); e.BookingClosesAt = start.Add(2 * time.Hour); return e }(), at: start.Add(time.Hour), want: Closed, wantLeft: 50},
		{name: "draft", ev: func() Event { e := event(50, 0, true, open); e.Status = StatusDraft; return e }(), want: Closed, wantLeft: 50},
		{name: "cancelled", ev: func() Event { e := event(50, 0, true, open); e.Status = StatusCancelled; return e }(), at: start.Add(time.Hour), want: Cancelled, ticket: open, wantTk: Cancelled, wantLeft: 50, wantTLeft: 50},
		{name: "ticket limit reached, waiting list", ev: event(50, 10, true, open, limited(10, 10)), want: Available, ticket: limited(10, 10), wantTk: WaitingList, wantLeft: 40, wantTLeft: 0},
		{name: "ticket limit reached", ev: event(50, 10, false, limited(10, 10)), want: Full, ticket: limited(10, 10), wantTk: Full, wantLeft: 40, wantTLeft: 0},
		{name: "ticket few left by its own limit", ev: event(1000, 10, false, limited(20, 15)), want: FewLeft, ticket: limited(20, 15), wantTk: FewLeft, wantLeft: 990, wantTLeft: 5},
		{name: "ticket limited by the event", ev: event(50, 48, false, limited(20, 5)), want: FewLeft, ticket: limited(20, 5), wantTk: FewLeft, wantLeft: 2, wantTLeft: 2},
		{name: "ticket whole allocation left", ev: event(1000, 950, false, limited(20, 0)), want: Available, ticket: limited(20, 0), wantTk: Available, wantLeft: 50, wantTLeft: 20},
		{name: "best ticket wins", ev: event(100, 95, false, open, limited(10, 10)), want: FewLeft, ticket: open, wantTk: FewLeft, wantLeft: 5, wantTLeft: 5},
		{name: "no tickets", ev: event(10, 0, false), want: Available, wantLeft: 10},
	}
	for _, c := range cases {
		at := c.at
		if at.IsZero() {
			at = now
		}
		if got := c.ev.Availability(at); got != c.want {
			t.Errorf("%s: Availability = %q; want %q", c.name, got, c.want)
		}
		if c.ticket.ID != "" {
			if got := c.ev.TicketAvailability(c.ticket, at); got != c.wantTk {
				t.Errorf("%s: TicketAvailability(%s) = %q; want %q", c.name, c.ticket.ID, got, c.wantTk)
			}
			if got := c.ev.TicketLeft(c.ticket); got != c.wantTLeft {
				t.Errorf("%s: TicketLeft(%s) = %d; want %d", c.name, c.ticket.ID, got, c.wantTLeft)
			}
		}
		if got := c.ev.Left(); got != c.wantLeft {
			t.Errorf("%s: Left = %d; want %d", c.name, got, c.wantLeft)
		}
	}
}

func TestPriceFrom(t *testing.T) {
	cases := []struct {
		name   string
		prices []int
		pence  int
		label  string
	}{
		{"none", nil, 0, "Free"},
		{"free", []int{0, 9500}, 0, "Free"},
		{"lowest", []int{12500, 9500, 10000}, 9500, "£95"},
		{"one", []int{1250}, 1250, "£12.50"},
	}
	for _, c := range cases {
		var ev Event
		for _, p := range c.prices {
			ev.Tickets = append(ev.Tickets, Ticket{PricePence: p})
		}
		if pence, label := ev.PriceFrom(); pence != c.pence || label != c.label {
			t.Errorf("PriceFrom(%s) = %d, %q; want %d, %q", c.name, pence, label, c.pence, c.label)
		}
	}
}

func TestFormatPrice(t *testing.T) {
	cases := []struct {
		pence int
		want  string
	}{
		{0, "Free"}, {1, "£0.01"}, {50, "£0.50"}, {100, "£1"}, {9500, "£95"}, {1250, "£12.50"},
		{1205, "£12.05"}, {99999, "£999.99"}, {125000, "£1,250"}, {125005, "£1,250.05"},
		{10_000_000, "£100,000"}, {123456789, "£1,234,567.89"}, {-9500, "-£95"},
		{-9223372036854775808, "-£92,233,720,368,547,758.08"},
	}
	for _, c := range cases {
		if got := FormatPrice(c.pence); got != c.want {
			t.Errorf("FormatPrice(%d) = %q; want %q", c.pence, got, c.want)
		}
	}
}
