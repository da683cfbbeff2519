package event

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseEventValid(t *testing.T) {
	ev := mustEvent(t, venueBody())
	london, _ := time.LoadLocation("Europe/London")
	checks := []struct {
		name      string
		got, want any
	}{
		{"title trimmed", ev.Title, "Service user involvement managers' network"},
		{"description CRLF", ev.Description, "## Agenda\n\n- Welcome\n- Lunch"},
		{"timezone default", ev.Timezone, "Europe/London"},
		{"starts_at in zone", ev.StartsAt.Location().String(), "Europe/London"},
		{"starts_at instant", ev.StartsAt.Equal(time.Date(2026, 12, 11, 10, 0, 0, 0, london)), true},
		{"booking_closes_at default", ev.BookingClosesAt.Equal(ev.StartsAt), true},
		{"address CRLF", ev.Location.Address, "356 Holloway Road\nLondon"},
		{"postcode", ev.Location.Postcode, "N7 6PA"},
		{"themes", strings.Join(ev.Themes, ","), "co-production,peer-support"},
		{"regions", strings.Join(ev.Regions, ","), "north-east,london"},
		{"ticket capacity", ev.Tickets[1].Capacity, 10},
		{"members only", ev.Tickets[0].MembersOnly, true},
		{"ticket counts", len(ev.TicketConfirmed), 2},
		{"created", ev.CreatedAt.Equal(now) && ev.UpdatedAt.Equal(now), true},
		{"waiting list", ev.WaitingList, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("ParseEvent(venue): %s = %v; want %v", c.name, c.got, c.want)
		}
	}
	on := mustEvent(t, with(onlineBody(), map[string]any{
		"timezone": "Asia/Kolkata", "booking_closes_at": "2027-03-01T12:00:00Z", "starts_at": "2027-03-02T13:00:00.75Z",
	}))
	if on.Timezone != "Asia/Kolkata" || on.StartsAt.Format(time.RFC3339Nano) != "2027-03-02T18:30:00+05:30" {
		t.Errorf("ParseEvent(online, Kolkata): starts_at = %s in %s; want 2027-03-02T18:30:00+05:30 (to the second, in the zone)", on.StartsAt.Format(time.RFC3339Nano), on.Timezone)
	}
	if !on.BookingClosesAt.Equal(time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseEvent(online): booking_closes_at = %v; want the given one", on.BookingClosesAt)
	}
	if on.Location.JoiningURL == "" || on.Themes != nil || on.Description != "" {
		t.Errorf("ParseEvent(online) = %+v; want the joining URL, no themes, empty description", on)
	}
	if ev, problems := ParseEvent(mustJSON(t, with(onlineBody(), map[string]any{"timezone": null, "themes": null, "booking_closes_at": null})), now); len(problems) > 0 || ev.Timezone != DefaultTimezone {
		t.Errorf("ParseEvent(nulls) = %q, %v; want the defaults", ev.Timezone, problems)
	}
}

func TestParseEventProblems(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	cases := []struct {
		name    string
		body    map[string]any
		raw     string // instead of body
		want    []string
		message string // in the first problem's message, when given
	}{
		{name: "not UTF-8", raw: "{\"title\": \"\xff\"}", want: []string{""}},
		{name: "not JSON", raw: `{"title": }`, want: []string{""}, message: "not valid JSON"},
		{name: "not an object", raw: `[1]`, want: []string{""}, message: "JSON object"},
		{name: "empty object", raw: `{}`, want: []string{"title", "summary", "type", "starts_at", "ends_at", "location", "capacity", "tickets", "status"}},
		{name: "unknown fields in order", raw: `{"zeta": 1, "Title": "x", "alpha": 2}`, want: []string{"title", "summary", "type", "starts_at", "ends_at", "location", "capacity", "tickets", "status", "zeta", "Title", "alpha"}},
		{name: "repeated field", raw: strings.Replace(string(mustJSON(t, onlineBody())), `{`, `{"capacity": 5, `, 1), want: []string{"capacity"}, message: "more than once"},
		{name: "read-only fields", body: with(onlineBody(), map[string]any{"id": "x", "confirmed": 3, "description_html": "<p>"}), want: []string{"confirmed", "description_html", "id"}},
		{name: "title too long", body: with(venueBody(), map[string]any{"title": long(201)}), want: []string{"title"}, message: "201 characters"},
		{name: "title at the limit", body: with(venueBody(), map[string]any{"title": long(200)})},
		{name: "title two lines", body: with(venueBody(), map[string]any{"title": "a\nb"}), want: []string{"title"}},
		{name: "title NUL", body: with(venueBody(), map[string]any{"title": "a\x00b"}), want: []string{"title"}, message: "NUL"},
		{name: "title a number", body: with(venueBody(), map[string]any{"title": 5}), want: []string{"title"}, message: "must be a string, not a number"},
		{name: "summary tab", body: with(venueBody(), map[string]any{"summary": "a\tb"}), want: []string{"summary"}},
		{name: "summary line separator", body: with(venueBody(), map[string]any{"summary": "a\u2028b"}), want: []string{"summary"}},
		{name: "summary too long", body: with(venueBody(), map[string]any{"summary": long(501)}), want: []string{"summary"}},
		{name: "description too long", body: with(venueBody(), map[string]any{"description": strings.Repeat("a", 20_001)}), want: []string{"description"}},
		{name: "description at the limit", body: with(venueBody(), map[string]any{"description": strings.Repeat("a", 20_000)})},
		{name: "description control", body: with(venueBody(), map[string]any{"description": "a\x1bb"}), want: []string{"description"}},
		{name: "type unknown", body: with(venueBody(), map[string]any{"type": "party"}), want: []string{"type"}, message: "conference, training, webinar, network-meeting"},
		{name: "no offset", body: with(venueBody(), map[string]any{"starts_at": "2026-12-11T10:00:00"}), want: []string{"starts_at"}},
		{name: "date only", body: with(venueBody(), map[string]any{"ends_at": "2026-12-11"}), want: []string{"ends_at"}},
		{name: "offset 24h", body: with(venueBody(), map[string]any{"starts_at": "2026-12-11T10:00:00+24:00"}), want: []string{"starts_at"}},
		{name: "end before start", body: with(venueBody(), map[string]any{"ends_at": "2026-12-11T09:00:00Z"}), want: []string{"ends_at"}, message: "after starts_at"},
		{name: "end equals start", body: with(venueBody(), map[string]any{"ends_at": "2026-12-11T10:00:00Z"}), want: []string{"ends_at"}},
		{name: "ended", body: with(venueBody(), map[string]any{"starts_at": "2026-11-01T10:00:00Z", "ends_at": "2026-11-01T11:00:00Z"}), want: []string{"ends_at"}, message: "past"},
		{name: "too long an event", body: with(venueBody(), map[string]any{"ends_at": "2027-06-11T10:00:00Z"}), want: []string{"ends_at"}, message: "90 days"},
		{name: "year 2100", body: with(venueBody(), map[string]any{"starts_at": "2100-01-01T00:00:00Z", "ends_at": "2100-01-01T01:00:00Z"}), want: []string{"starts_at", "ends_at"}},
		{name: "bad zone", body: with(venueBody(), map[string]any{"timezone": "Europe/Lodnon"}), want: []string{"timezone"}},
		{name: "Local zone", body: with(venueBody(), map[string]any{"timezone": "Local"}), want: []string{"timezone"}},
		{name: "empty zone", body: with(venueBody(), map[string]any{"timezone": ""}), want: []string{"timezone"}},
		{name: "booking closes after end", body: with(venueBody(), map[string]any{"booking_closes_at": "2026-12-11T16:00:01Z"}), want: []string{"booking_closes_at"}},
		{name: "booking closes at end", body: with(venueBody(), map[string]any{"booking_closes_at": "2026-12-11T16:00:00Z"})},
		{name: "location missing", body: with(venueBody(), map[string]any{"location": nil}), want: []string{"location"}},
		{name: "location a string", body: with(venueBody(), map[string]any{"location": "Leeds"}), want: []string{"location"}},
		{name: "online unset", body: with(venueBody(), map[string]any{"location.online": nil}), want: []string{"location.online"}},
		{name: "online a string", body: with(venueBody(), map[string]any{"location.online": "yes"}), want: []string{"location.online"}},
		{name: "online with venue", body: with(onlineBody(), map[string]any{"location.venue": "Hall", "location.postcode": "N7 6PA"}), want: []string{"location.venue", "location.postcode"}},
		{name: "online no URL", body: with(onlineBody(), map[string]any{"location.joining_url": nil}), want: []string{"location.joining_url"}},
		{name: "online http URL", body: with(onlineBody(), map[string]any{"location.joining_url": "http://meet.example.org/x"}), want: []string{"location.joining_url"}},
		{name: "online relative URL", body: with(onlineBody(), map[string]any{"location.joining_url": "/meet"}), want: []string{"location.joining_url"}},
		{name: "online URL with password", body: with(onlineBody(), map[string]any{"location.joining_url": "https://u:p@meet.example.org/"}), want: []string{"location.joining_url"}},
		{name: "online URL with space", body: with(onlineBody(), map[string]any{"location.joining_url": "https://meet.example.org/a b"}), want: []string{"location.joining_url"}},
		{name: "online URL too long", body: with(onlineBody(), map[string]any{"location.joining_url": "https://meet.example.org/" + strings.Repeat("a", 1976)}), want: []string{"location.joining_url"}},
		{name: "online URL at the limit", body: with(onlineBody(), map[string]any{"location.joining_url": "https://meet.example.org/" + strings.Repeat("a", 1975)})},
		{name: "venue with URL", body: with(venueBody(), map[string]any{"location.joining_url": "https://meet.example.org/"}), want: []string{"location.joining_url"}},
		{name: "venue missing", body: with(venueBody(), map[string]any{"location.venue": nil, "location.address": " "}), want: []string{"location.venue", "location.address"}},
		{name: "venue too long", body: with(venueBody(), map[string]any{"location.venue": long(201)}), want: []string{"location.venue"}},
		{name: "address too long", body: with(venueBody(), map[string]any{"location.address": long(501)}), want: []string{"location.address"}},
		{name: "postcode not UK", body: with(venueBody(), map[string]any{"location.postcode": "75001"}), want: []string{"location.postcode"}},
		{name: "postcode left out", body: with(venueBody(), map[string]any{"location.postcode": nil})},
		{name: "location unknown field", body: with(venueBody(), map[string]any{"location.city": "Leeds"}), want: []string{"location.city"}},
		{name: "capacity 0", body: with(venueBody(), map[string]any{"capacity": 0, "tickets.1.capacity": nil}), want: []string{"capacity"}},
		{name: "capacity 10001", body: with(venueBody(), map[string]any{"capacity": 10_001}), want: []string{"capacity"}},
		{name: "capacity 10000", body: with(venueBody(), map[string]any{"capacity": 10_000})},
		{name: "capacity a string", body: with(venueBody(), map[string]any{"capacity": "50"}), want: []string{"capacity"}, message: "whole number, not a string"},
		{name: "capacity a fraction", body: with(venueBody(), map[string]any{"capacity": 50.5}), want: []string{"capacity"}},
		{name: "capacity huge", raw: strings.Replace(string(mustJSON(t, venueBody())), `"capacity":50`, `"capacity":99999999999999999999999`, 1), want: []string{"capacity"}, message: "from 1 to 10000"},
		{name: "waiting_list a string", body: with(venueBody(), map[string]any{"waiting_list": "true"}), want: []string{"waiting_list"}},
		{name: "no tickets", body: with(venueBody(), map[string]any{"tickets": []any{}}), want: []string{"tickets"}},
		{name: "tickets an object", body: with(venueBody(), map[string]any{"tickets": map[string]any{}}), want: []string{"tickets"}},
		{name: "eleven tickets", body: with(venueBody(), map[string]any{"tickets": elevenTickets()}), want: []string{"tickets"}},
		{name: "ticket not an object", body: with(venueBody(), map[string]any{"tickets": []any{"free"}}), want: []string{"tickets[0]"}},
		{name: "ticket problems", body: with(venueBody(), map[string]any{
			"tickets.0.id": "Member", "tickets.0.price_pence": -1, "tickets.1.label": "", "tickets.1.price_pence": 10_000_001,
		}), want: []string{"tickets[0].id", "tickets[0].price_pence", "tickets[1].label", "tickets[1].price_pence"}},
		{name: "ticket problems by index then field", body: with(venueBody(), map[string]any{
			"tickets.0.extra": 1, "tickets.0.id": "A", "tickets.1.price_pence": nil, "tickets.0.capacity": "x",
		}), want: []string{"tickets[0].id", "tickets[0].capacity", "tickets[0].extra", "tickets[1].price_pence"}},
		{name: "ticket price missing", body: with(venueBody(), map[string]any{"tickets.1.price_pence": nil}), want: []string{"tickets[1].price_pence"}},
		{name: "ticket price a string", body: with(venueBody(), map[string]any{"tickets.1.price_pence": "95"}), want: []string{"tickets[1].price_pence"}},
		{name: "ticket price at the limit", body: with(venueBody(), map[string]any{"tickets.1.price_pence": 10_000_000})},
		{name: "ticket id repeated", body: with(venueBody(), map[string]any{"tickets.1.id": "member"}), want: []string{"tickets[1].id"}, message: "tickets[0]"},
		{name: "ticket id too long", body: with(venueBody(), map[string]any{"tickets.1.id": strings.Repeat("a", 41)}), want: []string{"tickets[1].id"}},
		{name: "ticket id 40", body: with(venueBody(), map[string]any{"tickets.1.id": strings.Repeat("a", 40)})},
		{name: "ticket id hyphen first", body: with(venueBody(), map[string]any{"tickets.1.id": "-a"}), want: []string{"tickets[1].id"}},
		{name: "ticket label too long", body: with(venueBody(), map[string]any{"tickets.1.label": long(101)}), want: []string{"tickets[1].label"}},
		{name: "ticket capacity over event", body: with(venueBody(), map[string]any{"tickets.1.capacity": 51}), want: []string{"tickets[1].capacity"}},
		{name: "ticket capacity equals event", body: with(venueBody(), map[string]any{"tickets.1.capacity": 50})},
		{name: "ticket capacity 0", body: with(venueBody(), map[string]any{"tickets.1.capacity": 0}), want: []string{"tickets[1].capacity"}},
		{name: "ticket capacity null", body: with(venueBody(), map[string]any{"tickets.1.capacity": null})},
		{name: "ticket unknown field", body: with(venueBody(), map[string]any{"tickets.0.price": 95}), want: []string{"tickets[0].price"}},
		{name: "ticket members_only a string", body: with(venueBody(), map[string]any{"tickets.0.members_only": "yes"}), want: []string{"tickets[0].members_only"}},
		{name: "unknown theme", body: with(venueBody(), map[string]any{"themes": []any{"co-production", "knitting", 3}}), want: []string{"themes[1]", "themes[2]"}},
		{name: "unknown region", body: with(venueBody(), map[string]any{"regions": []any{"scotland"}}), want: []string{"regions[0]"}},
		{name: "regions a string", body: with(venueBody(), map[string]any{"regions": "london"}), want: []string{"regions"}},
		{name: "status missing", body: with(venueBody(), map[string]any{"status": nil}), want: []string{"status"}},
		{name: "status cancelled", body: with(venueBody(), map[string]any{"status": "cancelled"}), want: []string{"status"}, message: "/cancel"},
		{name: "status draft", body: with(venueBody(), map[string]any{"status": "draft"})},
		{name: "everything in order", body: with(venueBody(), map[string]any{
			"status": "open", "title": "", "tickets.1.id": "A", "capacity": -1, "location.postcode": "X", "type": "", "ends_at": "soon",
		}), want: []string{"title", "type", "ends_at", "location.postcode", "capacity", "tickets[1].id", "status"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := caseBody(t, c.raw, c.body)
			ev, problems := ParseEvent(body, now)
			if got := fields(problems); !slices.Equal(got, c.want) {
				t.Fatalf("ParseEvent problems = %q (%v); want fields %q", got, problems, c.want)
			}
			for _, p := range problems {
				if p.Message == "" {
					t.Errorf("ParseEvent: problem %q has no message", p.Field)
				}
			}
			if len(problems) > 0 && ev.Title != "" {
				t.Errorf("ParseEvent with problems returned %+v; want a zero Event", ev)
			}
			if c.message != "" && !strings.Contains(problems[0].Message, c.message) {
				t.Errorf("ParseEvent message = %q; want it to contain %q", problems[0].Message, c.message)
			}
			if len(problems) == 0 {
				checkEvent(t, ev)
			}
		})
	}
}

func elevenTickets() []any {
	ts := make([]any, 11)
	for i := range ts {
		ts[i] = map[string]any{"id": string(rune('a' + i)), "label": "T", "price_pence": 0}
	}
	return ts
}

func TestPatchEvent(t *testing.T) {
	base := mustEvent(t, venueBody())
	booked := base
	booked.Confirmed, booked.TicketConfirmed = 3, map[string]int{"member": 2, "non-member": 1}
	draft := base
	draft.Status = StatusDraft
	cancelled := base
	cancelled.Status = StatusCancelled
	later := now.Add(time.Hour)

	cases := []struct {
		name  string
		ev    Event
		body  string
		want  []string // problem fields
		check func(t *testing.T, got Event)
	}{
		{name: "empty patch", ev: base, body: `{}`, check: func(t *testing.T, got Event) {
			if !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(base.CreatedAt) || got.Title != base.Title {
				t.Errorf("PatchEvent({}) = %+v; want the event with UpdatedAt %v", got, later)
			}
		}},
		{name: "title", ev: base, body: `{"title": " New title "}`, check: func(t *testing.T, got Event) {
			if got.Title != "New title" || got.Summary != base.Summary {
				t.Errorf("PatchEvent(title) title = %q, summary %q", got.Title, got.Summary)
			}
		}},
		{name: "move dates moves default booking close", ev: base, body: `{"starts_at": "2027-01-08T10:00:00Z", "ends_at": "2027-01-08T12:00:00Z"}`, check: func(t *testing.T, got Event) {
			if !got.BookingClosesAt.Equal(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("PatchEvent(dates) booking_closes_at = %v; want the new starts_at", got.BookingClosesAt)
			}
		}},
		{name: "booking close back to default", ev: with2(base, func(e *Event) { e.BookingClosesAt = e.StartsAt.Add(-time.Hour) }), body: `{"booking_closes_at": null}`, check: func(t *testing.T, got Event) {
			if !got.BookingClosesAt.Equal(got.StartsAt) {
				t.Errorf("PatchEvent(booking_closes_at null) = %v; want starts_at %v", got.BookingClosesAt, got.StartsAt)
			}
		}},
		{name: "set booking close keeps it when dates move", ev: with2(base, func(e *Event) { e.BookingClosesAt = e.StartsAt.Add(-time.Hour) }), body: `{"starts_at": "2026-12-11T11:00:00Z"}`, check: func(t *testing.T, got Event) {
			if !got.BookingClosesAt.Equal(base.StartsAt.Add(-time.Hour)) {
				t.Errorf("PatchEvent(starts_at) booking_closes_at = %v; want it unchanged", got.BookingClosesAt)
			}
		}},
		{name: "timezone null", ev: with2(base, func(e *Event) { e.Timezone = "Asia/Kolkata" }), body: `{"timezone": null}`, check: func(t *testing.T, got Event) {
			if got.Timezone != DefaultTimezone || got.StartsAt.Location().String() != DefaultTimezone || !got.StartsAt.Equal(base.StartsAt) {
				t.Errorf("PatchEvent(timezone null) = %s, %v; want Europe/London, the same instant", got.Timezone, got.StartsAt)
			}
		}},
		{name: "themes null", ev: base, body: `{"themes": null, "waiting_list": null, "description": null}`, check: func(t *testing.T, got Event) {
			if got.Themes != nil || got.WaitingList || got.Description != "" {
				t.Errorf("PatchEvent(nulls) = %v, %v, %q; want the defaults", got.Themes, got.WaitingList, got.Description)
			}
		}},
		{name: "tickets replaced keep counts", ev: booked, body: `{"tickets": [{"id": "non-member", "label": "Everyone", "price_pence": 12550}, {"id": "member", "label": "Member", "price_pence": 9500}, {"id": "student", "label": "Student", "price_pence": 0}]}`, check: func(t *testing.T, got Event) {
			want := map[string]int{"member": 2, "non-member": 1, "student": 0}
			if len(got.TicketConfirmed) != 3 || got.TicketConfirmed["member"] != 2 || got.TicketConfirmed["student"] != 0 || got.Tickets[0].Label != "Everyone" {
				t.Errorf("PatchEvent(tickets) counts = %v, tickets %+v; want %v", got.TicketConfirmed, got.Tickets, want)
			}
			if booked.TicketConfirmed["student"] != 0 || len(booked.TicketConfirmed) != 2 || booked.Tickets[0].ID != "member" {
				t.Errorf("PatchEvent changed its argument: %v, %+v", booked.TicketConfirmed, booked.Tickets)
			}
		}},
		{name: "location replaced whole", ev: base, body: `{"location": {"online": true, "joining_url": "https://meet.example.org/x"}}`, check: func(t *testing.T, got Event) {
			if got.Location != (Location{Online: true, JoiningURL: "https://meet.example.org/x"}) {
				t.Errorf("PatchEvent(location) = %+v", got.Location)
			}
		}},
		{name: "publish a draft", ev: draft, body: `{"status": "published"}`},
		{name: "unpublish unbooked", ev: base, body: `{"status": "draft"}`},
		{name: "unpublish booked", ev: booked, body: `{"status": "draft"}`, want: []string{"status"}},
		{name: "unpublish waitlisted", ev: with2(base, func(e *Event) { e.Waiting = 1 }), body: `{"status": "draft"}`, want: []string{"status"}},
		{name: "published again booked", ev: booked, body: `{"status": "published", "capacity": 60}`},
		{name: "cancel by patch", ev: base, body: `{"status": "cancelled"}`, want: []string{"status"}},
		{name: "cancelled event", ev: cancelled, body: `{"title": "x"}`, want: []string{"status"}},
		{name: "read-only", ev: base, body: `{"id": "x", "confirmed": 0, "created_at": "2026-01-01T00:00:00Z", "ticket_confirmed": {}}`, want: []string{"id", "confirmed", "created_at", "ticket_confirmed"}},
		{name: "required null", ev: base, body: `{"title": null, "tickets": null, "location": null}`, want: []string{"title", "location", "tickets"}},
		{name: "revalidated whole", ev: base, body: `{"capacity": 5}`, want: []string{"tickets[1].capacity"}},
		{name: "past event text", ev: with2(base, func(e *Event) {
			e.EndsAt = now.Add(-time.Hour)
			e.StartsAt = now.Add(-2 * time.Hour)
			e.BookingClosesAt = e.StartsAt
		}), body: `{"summary": "Slides added."}`},
		{name: "moved into the past", ev: base, body: `{"ends_at": "2026-11-26T11:00:00Z", "starts_at": "2026-11-26T10:00:00Z"}`, want: []string{"ends_at"}},
		{name: "unknown field", ev: base, body: `{"titel": "x"}`, want: []string{"titel"}},
		{name: "not an object", ev: base, body: `"x"`, want: []string{""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, problems := PatchEvent(c.ev, []byte(c.body), later)
			if f := fields(problems); !slices.Equal(f, c.want) {
				t.Fatalf("PatchEvent(%s) problems = %v; want fields %q", c.body, problems, c.want)
			}
			if len(problems) > 0 {
				if got.Title != c.ev.Title || !got.UpdatedAt.Equal(c.ev.UpdatedAt) {
					t.Errorf("PatchEvent(%s) with problems = %+v; want the event unchanged", c.body, got)
				}
				return
			}
			checkEvent(t, got)
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

// with2 returns ev changed by f.
func with2(ev Event, f func(*Event)) Event {
	ev = clone(ev)
	f(&ev)
	return ev
}

func TestPatchConflict(t *testing.T) {
	old := mustEvent(t, venueBody())
	old.Confirmed, old.TicketConfirmed = 8, map[string]int{"member": 0, "non-member": 8}
	cases := []struct {
		name    string
		waiting int // people on the waiting list
		change  func(*Event)
		want    string // in the message; "" for no conflict
	}{
		{"nothing", 0, func(*Event) {}, ""},
		{"capacity down to confirmed", 0, func(e *Event) { e.Capacity = 8 }, ""},
		{"capacity below confirmed", 0, func(e *Event) { e.Capacity = 7 }, "8 places are already booked"},
		{"unbooked ticket price", 0, func(e *Event) { e.Tickets[0].PricePence = 100 }, ""},
		{"unbooked ticket removed", 0, func(e *Event) { e.Tickets = e.Tickets[1:] }, ""},
		{"booked ticket price", 0, func(e *Event) { e.Tickets[1].PricePence = 100 }, `price of ticket "non-member" cannot change from £125.50 to £1: 8 places are booked on it`},
		{"booked ticket removed", 0, func(e *Event) { e.Tickets = e.Tickets[:1] }, `ticket "non-member" cannot be removed: 8 places are booked on it`},
		{"booked ticket capacity below", 0, func(e *Event) { e.Tickets[1].Capacity = 7 }, `capacity cannot be 7`},
		{"booked ticket capacity to none", 0, func(e *Event) { e.Tickets[1].Capacity = 0 }, ""},
		{"booked ticket label", 0, func(e *Event) { e.Tickets[1].Label = "Anyone" }, ""},
		{"unbooked ticket price, someone waiting", 1, func(e *Event) { e.Tickets[0].PricePence = 100 }, `price of ticket "member" cannot change from £95 to £1: 1 person is on the waiting list`},
		{"unbooked ticket removed, people waiting", 3, func(e *Event) { e.Tickets = e.Tickets[1:] }, `ticket "member" cannot be removed: 3 people are on the waiting list`},
		{"booked ticket removed, people waiting", 3, func(e *Event) { e.Tickets = e.Tickets[:1] }, `ticket "non-member" cannot be removed: 8 places are booked on it`},
		{"unbooked ticket label, people waiting", 3, func(e *Event) { e.Tickets[0].Label = "Members" }, ""},
		{"unbooked ticket capacity, people waiting", 3, func(e *Event) { e.Tickets[0].Capacity = 2 }, ""},
		{"ticket added, people waiting", 3, func(e *Event) { e.Tickets = append(e.Tickets, Ticket{ID: "speaker", Label: "Speaker"}) }, ""},
	}
	for _, c := range cases {
		before := with2(old, func(e *Event) { e.Waiting = c.waiting })
		updated := with2(before, c.change)
		got := PatchConflict(before, updated)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("PatchConflict(%s) = %q; want %q", c.name, got, c.want)
		}
	}
	if got := PatchConflict(old, with2(old, func(e *Event) { e.Capacity = 1; e.Tickets = nil })); strings.Count(got, ";") != 1 {
		t.Errorf("PatchConflict(two conflicts) = %q; want both, joined", got)
	}
}

func TestNormalisePostcode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"sw1a1aa", "SW1A 1AA"}, {"N7 6PA", "N7 6PA"}, {" m1  1ae", "M1 1AE"}, {"EC1A 1BB", "EC1A 1BB"},
		{"B33 8TH", "B33 8TH"}, {"CR2 6XH", "CR2 6XH"}, {"DN55 1PT", "DN55 1PT"}, {"GIR 0AA", "GIR 0AA"},
		{"75001", ""}, {"SW1A", ""}, {"SW1A 1AAA", ""}, {"1AA 1AA", ""}, {"", ""},
	}
	for _, c := range cases {
		got, ok := NormalisePostcode(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("NormalisePostcode(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}
