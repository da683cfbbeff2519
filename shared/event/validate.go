package event

// Validation of what staff send: the body of POST /staff/events (ParseEvent) and of
// PATCH /staff/events/{id} (PatchEvent), both decoded strictly and checked whole, every
// problem named by its field path; and the message of a PATCH that the bookings already made
// forbid (PatchConflict, a 409 rather than a 400).

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"sectorhub/shared/apperr"
	"sectorhub/shared/casestudy"
)

// Limits of the staff event body.
const (
	MaxTitle       = 200    // characters
	MaxSummary     = 500    // characters, one line
	MaxDescription = 20_000 // bytes of Markdown
	MaxCapacity    = 10_000
	MaxTickets     = 10
	MaxTicketLabel = 100        // characters
	MaxPricePence  = 10_000_000 // £100,000
	MaxVenue       = 200        // characters
	MaxAddress     = 500        // characters, line breaks allowed
	MaxJoiningURL  = 2_000      // bytes
	MaxDuration    = 90 * 24 * time.Hour
)

// The window every date of an event must fall in: a typo in a year is caught here rather
// than stored, listed and written into calendar files.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// eventFields are the fields of the staff body, in documented order (problems are listed in
// this order).
var eventFields = []string{
	"title", "summary", "description", "type", "starts_at", "ends_at", "timezone", "location",
	"capacity", "waiting_list", "booking_closes_at", "tickets", "themes", "regions", "status",
}

// optionalFields may be null in a PATCH, which puts back their default.
var optionalFields = []string{"description", "timezone", "waiting_list", "booking_closes_at", "themes", "regions"}

// readOnlyFields are fields of an event that staff cannot set, with the reason.
var readOnlyFields = map[string]string{
	"id":               "is given by the server and cannot be set or changed",
	"description_html": "is rendered by the server from description and cannot be set",
	"created_at":       "is set by the server and cannot be set or changed",
	"updated_at":       "is set by the server and cannot be set or changed",
	"cancelled_at":     "is set when the event is cancelled (POST /staff/events/{id}/cancel)",
	"confirmed":        "is counted from bookings and cannot be set",
	"waiting":          "is counted from bookings and cannot be set",
	"ticket_confirmed": "is counted from bookings and cannot be set",
}

var (
	locationFields = []string{"online", "joining_url", "venue", "address", "postcode"}
	ticketFields   = []string{"id", "label", "price_pence", "members_only", "capacity"}

	// The patterns are compiled when first used, not when a function starts: the public
	// function links this package but validates no event.
	ticketID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`) })
	// postcode is a UK postcode without spaces, upper case (outward code, inward code).
	postcode = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}|GIR0AA)$`)
	})
)

// ParseEvent validates the body of POST /staff/events and returns the event it describes, or
// every problem found (and a zero Event). Defaults: timezone Europe/London, waiting_list
// false, booking_closes_at = starts_at. Times are kept in the event's zone, to the second;
// text is trimmed; the postcode is upper case with one space; themes and regions become
// slugs in vocabulary order. The event must end after now (a past event is a typo). ID is
// left for the caller (NewID); CreatedAt and UpdatedAt are now; TicketConfirmed has every
// ticket at 0.
func ParseEvent(body []byte, now time.Time) (Event, []apperr.Problem) {
	d := &decoder{}
	ms, ok := d.body(body)
	if !ok {
		return Event{}, d.problems
	}
	var ev Event
	set := d.apply(&ev, ms, false)
	if raw, ok := set["timezone"]; !ok || isNull(raw) {
		ev.Timezone = DefaultTimezone
	}
	if raw, ok := set["location"]; !ok || isNull(raw) {
		d.fail("location", `is required: {"online": true, "joining_url": "https://…"} or {"online": false, "venue": "…", "address": "…", "postcode": "…"}`)
	}
	if ev.Status == StatusCancelled {
		d.add("status", "must be draft or published: an event is cancelled with POST /staff/events/{id}/cancel")
	}
	if raw, ok := set["booking_closes_at"]; !ok || isNull(raw) {
		ev.BookingClosesAt = ev.StartsAt
	}
	d.validate(&ev, now, true)
	if len(d.problems) > 0 {
		sortProblems(d.problems, eventFields, slices.Concat(locationFields, ticketFields))
		return Event{}, d.problems
	}
	ev.TicketConfirmed = make(map[string]int, len(ev.Tickets))
	for _, t := range ev.Tickets {
		ev.TicketConfirmed[t.ID] = 0
	}
	ev.CreatedAt = now.UTC()
	ev.UpdatedAt = ev.CreatedAt
	return ev, nil
}

// PatchEvent applies the body of PATCH /staff/events/{id} to ev: a JSON object with any of
// ParseEvent's fields; each one given replaces the event's (tickets and location as a whole),
// and null puts back an optional field's default (booking_closes_at → starts_at). A patch
// that moves starts_at without giving booking_closes_at moves a booking_closes_at that was
// the default with it. The result is validated whole; starts_at and ends_at are checked
// against now only when the patch gives one of them (a past event's text can still be
// corrected). Status may move between draft and published only while nobody has booked.
// A cancelled event cannot be patched: the one problem is on "status" (the handler answers
// 409 for it). On problems ev comes back unchanged. On success UpdatedAt is now and
// TicketConfirmed has every ticket (new ones at 0). Conflicts with the bookings already made
// are PatchConflict's.
func PatchEvent(ev Event, body []byte, now time.Time) (Event, []apperr.Problem) {
	if ev.Status == StatusCancelled {
		return ev, []apperr.Problem{{Field: "status", Message: "the event is cancelled and can no longer be changed"}}
	}
	old := ev
	ev = clone(ev)
	d := &decoder{}
	ms, ok := d.body(body)
	if !ok {
		return old, d.problems
	}
	set := d.apply(&ev, ms, true)
	if raw, ok := set["status"]; ok && !isNull(raw) && ev.Status != old.Status {
		switch {
		case ev.Status == StatusCancelled:
			d.add("status", "cannot be set to cancelled here: cancel the event with POST /staff/events/{id}/cancel, which also tells its attendees")
		case old.Confirmed+old.Waiting > 0 && (ev.Status == StatusDraft || ev.Status == StatusPublished):
			d.add("status", "cannot change: %d people have booked or are waiting; cancel the event instead (POST /staff/events/{id}/cancel)", old.Confirmed+old.Waiting)
		}
	}
	if raw, ok := set["timezone"]; ok && isNull(raw) {
		ev.Timezone = DefaultTimezone
	}
	if raw, ok := set["booking_closes_at"]; ok && isNull(raw) {
		ev.BookingClosesAt = ev.StartsAt
	} else if !ok && old.BookingClosesAt.Equal(old.StartsAt) {
		ev.BookingClosesAt = ev.StartsAt
	}
	_, starts := set["starts_at"]
	_, ends := set["ends_at"]
	d.validate(&ev, now, starts || ends)
	if len(d.problems) > 0 {
		sortProblems(d.problems, eventFields, slices.Concat(locationFields, ticketFields))
		return old, d.problems
	}
	counts := make(map[string]int, len(ev.Tickets))
	for _, t := range ev.Tickets {
		counts[t.ID] = old.TicketConfirmed[t.ID]
	}
	ev.TicketConfirmed = counts
	ev.UpdatedAt = now.UTC()
	return ev, nil
}

// clone copies ev's slices and maps, so that changing the copy leaves ev alone.
func clone(ev Event) Event {
	ev.Tickets = slices.Clone(ev.Tickets)
	ev.Themes = slices.Clone(ev.Themes)
	ev.Regions = slices.Clone(ev.Regions)
	ev.TicketConfirmed = maps.Clone(ev.TicketConfirmed)
	return ev
}

// PatchConflict returns "" when the bookings already made allow old to become updated, or the
// message of a 409: capacity below the places booked, a ticket's own capacity below its
// bookings, a booked ticket's price changed or a booked ticket removed; and, while anyone is
// on the waiting list, any ticket's price changed or any ticket removed (waiting-list entries
// are not counted by ticket, so any of them may be waiting for it, at the price they were
// told). The store enforces the same with conditions on its write; this says why.
func PatchConflict(old, updated Event) string {
	var msgs []string
	if updated.Capacity < old.Confirmed {
		msgs = append(msgs, fmt.Sprintf("capacity cannot be %d: %s already booked", updated.Capacity, count(old.Confirmed, "place is", "places are")))
	}
	for _, t := range old.Tickets {
		n := old.TicketConfirmed[t.ID]
		var why string // why the ticket cannot be removed or repriced, if it cannot
		switch {
		case n > 0:
			why = count(n, "place is", "places are") + " booked on it"
		case old.Waiting > 0:
			why = count(old.Waiting, "person is", "people are") + " on the waiting list"
		}
		u, ok := updated.Ticket(t.ID)
		switch {
		case !ok && why != "":
			msgs = append(msgs, fmt.Sprintf("ticket %q cannot be removed: %s", t.ID, why))
		case ok && u.PricePence != t.PricePence && why != "":
			msgs = append(msgs, fmt.Sprintf("the price of ticket %q cannot change from %s to %s: %s", t.ID, FormatPrice(t.PricePence), FormatPrice(u.PricePence), why))
		case ok && n > 0 && u.Capacity != 0 && u.Capacity < n:
			msgs = append(msgs, fmt.Sprintf("ticket %q's capacity cannot be %d: %s booked on it", t.ID, u.Capacity, count(n, "place is", "places are")))
		}
	}
	return strings.Join(msgs, "; ")
}

// count writes n with the singular or plural words that follow it ("1 place is", "8 places are").
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// apply decodes the members of a staff body into ev, field by field, and returns the raw
// values of the fields given. In a patch, null is refused for a required field; on create,
// null is the same as leaving a field out.
func (d *decoder) apply(ev *Event, ms []member, patch bool) map[string]json.RawMessage {
	set := d.fields("", ms, eventFields, readOnlyFields)
	for _, name := range eventFields {
		raw, ok := set[name]
		if !ok {
			continue
		}
		if isNull(raw) {
			if patch && !slices.Contains(optionalFields, name) {
				d.fail(name, "cannot be removed (null): it is required")
				continue
			}
			switch name {
			case "description":
				ev.Description = ""
			case "waiting_list":
				ev.WaitingList = false
			case "themes":
				ev.Themes = nil
			case "regions":
				ev.Regions = nil
			}
			continue // timezone and booking_closes_at: the callers put back their defaults
		}
		switch name {
		case "title":
			ev.Title, _ = d.str(name, raw)
		case "summary":
			ev.Summary, _ = d.str(name, raw)
		case "description":
			ev.Description, _ = d.str(name, raw)
		case "type":
			ev.Type, _ = d.str(name, raw)
		case "starts_at":
			ev.StartsAt = d.time(name, raw)
		case "ends_at":
			ev.EndsAt = d.time(name, raw)
		case "timezone":
			if s, ok := d.str(name, raw); ok {
				ev.Timezone = s
				if s == "" {
					d.add(name, "must be an IANA time zone name such as Europe/London (leave it out for Europe/London)")
				}
			}
		case "location":
			ev.Location = d.location(name, raw)
		case "capacity":
			ev.Capacity, _ = d.integer(name, raw)
		case "waiting_list":
			ev.WaitingList, _ = d.boolean(name, raw)
		case "booking_closes_at":
			ev.BookingClosesAt = d.time(name, raw)
		case "tickets":
			ev.Tickets = d.tickets(name, raw)
		case "themes":
			ev.Themes = d.vocabulary(name, raw, "theme", casestudy.LookupTheme, casestudy.SortThemes)
		case "regions":
			ev.Regions = d.vocabulary(name, raw, "region", casestudy.LookupRegion, casestudy.SortRegions)
		case "status":
			ev.Status, _ = d.str(name, raw)
		}
	}
	return set
}

// time decodes an RFC 3339 date and time with its offset, to the second.
func (d *decoder) time(path string, raw json.RawMessage) time.Time {
	s, ok := d.str(path, raw)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if _, off := t.Zone(); err != nil || off <= -24*3600 || off >= 24*3600 {
		d.fail(path, "must be a date and time in RFC 3339 form with its offset, such as 2026-12-11T09:30:00Z or 2026-12-11T09:30:00+01:00")
		return time.Time{}
	}
	return t.Truncate(time.Second)
}

// location decodes a location object; its rules are checked by validate.
func (d *decoder) location(path string, raw json.RawMessage) Location {
	ms, ok := d.object(path, raw)
	if !ok {
		return Location{}
	}
	set := d.fields(path, ms, locationFields, nil)
	var l Location
	if raw, ok := set["online"]; !ok || isNull(raw) {
		d.fail(join(path, "online"), "is required: true for an online event, false for one at a venue")
	} else if v, ok := d.boolean(join(path, "online"), raw); ok {
		l.Online = v
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"joining_url", &l.JoiningURL}, {"venue", &l.Venue}, {"address", &l.Address}, {"postcode", &l.Postcode}} {
		if raw, ok := set[f.name]; ok && !isNull(raw) {
			*f.dst, _ = d.str(join(path, f.name), raw)
		}
	}
	return l
}

// tickets decodes the list of tickets; their rules are checked by validate.
func (d *decoder) tickets(path string, raw json.RawMessage) []Ticket {
	l, ok := d.list(path, raw)
	if !ok {
		return nil
	}
	ts := make([]Ticket, len(l))
	for i, raw := range l {
		p := index(path, i)
		ms, ok := d.object(p, raw)
		if !ok {
			continue
		}
		set := d.fields(p, ms, ticketFields, nil)
		t := &ts[i]
		for _, name := range ticketFields {
			raw, ok := set[name]
			if !ok || isNull(raw) {
				continue
			}
			switch fp := join(p, name); name {
			case "id":
				t.ID, _ = d.str(fp, raw)
			case "label":
				t.Label, _ = d.str(fp, raw)
			case "price_pence":
				if t.PricePence, ok = d.integer(fp, raw); !ok {
					t.PricePence = 0
				}
			case "members_only":
				t.MembersOnly, _ = d.boolean(fp, raw)
			case "capacity":
				t.Capacity, _ = d.integer(fp, raw)
				if t.Capacity == 0 {
					d.add(fp, "must be between 1 and the event's capacity, or left out for no limit of its own")
				}
			}
		}
		if raw, ok := set["price_pence"]; !ok || isNull(raw) {
			d.add(join(p, "price_pence"), "is required: the price in pence, 0 for a free ticket")
		}
	}
	return ts
}

// vocabulary decodes a list of theme or region names (slugs or labels) into slugs, without
// repeats, in vocabulary order.
func (d *decoder) vocabulary(path string, raw json.RawMessage, noun string, lookup func(string) (string, bool), sort func([]string) []string) []string {
	l, ok := d.list(path, raw)
	if !ok {
		return nil
	}
	var slugs []string
	for i, raw := range l {
		p := index(path, i)
		s, ok := d.str(p, raw)
		if !ok {
			continue
		}
		slug, ok := lookup(s)
		if !ok {
			d.add(p, "is not a known %s: give a slug or label from the %ss vocabulary (as for case studies)", noun, noun)
			continue
		}
		slugs = append(slugs, slug)
	}
	if len(slugs) == 0 {
		return nil
	}
	return sort(slugs)
}

// validate checks a decoded event whole, cleaning its text as it goes. checkNow says whether
// the event must end after now (on create, and when a patch moves it).
func (d *decoder) validate(ev *Event, now time.Time, checkNow bool) {
	ev.Title = d.text("title", ev.Title, textRule{required: true, max: MaxTitle, what: "a title"})
	ev.Summary = d.text("summary", ev.Summary, textRule{required: true, max: MaxSummary, what: "a summary"})

	ev.Description = strings.ReplaceAll(strings.ReplaceAll(ev.Description, "\r\n", "\n"), "\r", "\n")
	if strings.TrimSpace(ev.Description) == "" {
		ev.Description = ""
	}
	switch {
	case len(ev.Description) > MaxDescription:
		d.add("description", "is %d bytes long; at most %d bytes of Markdown are allowed", len(ev.Description), MaxDescription)
	case !multiLine(ev.Description):
		d.add("description", "must not contain control characters (line breaks and tabs are allowed)")
	}

	if !slices.Contains(Types, ev.Type) {
		if ev.Type == "" {
			d.add("type", "is required: one of %s", strings.Join(Types, ", "))
		} else {
			d.add("type", "must be one of %s", strings.Join(Types, ", "))
		}
	}

	d.validateTimes(ev, now, checkNow)
	d.validateLocation(&ev.Location)

	capacityOK := ev.Capacity >= 1 && ev.Capacity <= MaxCapacity
	if !capacityOK {
		d.add("capacity", "must be a whole number of places from 1 to %d", MaxCapacity)
	}
	d.validateTickets(ev.Tickets, ev.Capacity, capacityOK)

	if ev.Status != StatusDraft && ev.Status != StatusPublished && ev.Status != StatusCancelled {
		if ev.Status == "" {
			d.add("status", "is required: draft (staff only) or published (listed and bookable)")
		} else {
			d.add("status", "must be draft (staff only) or published (listed and bookable)")
		}
	}
}

// validateTimes checks the zone and the dates, and expresses the dates in the event's zone.
func (d *decoder) validateTimes(ev *Event, now time.Time, checkNow bool) {
	loc, err := LoadZone(ev.Timezone)
	if err != nil {
		d.add("timezone", "is not a known IANA time zone name: give one such as Europe/London or Asia/Kolkata (leave it out for Europe/London)")
	}
	inWindow := func(field string, t time.Time) bool {
		if t.Before(earliest) || !t.Before(latest) {
			d.add(field, "must be in the years 2000 to 2099")
			return false
		}
		return true
	}
	ok := true // starts_at and ends_at are given and in the window
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"starts_at", ev.StartsAt}, {"ends_at", ev.EndsAt}} {
		if f.t.IsZero() {
			d.add(f.name, "is required: a date and time in RFC 3339 form with its offset, such as 2026-12-11T09:30:00Z")
			ok = false
		} else if !inWindow(f.name, f.t) {
			ok = false
		}
	}
	if ok {
		switch {
		case !ev.EndsAt.After(ev.StartsAt):
			d.add("ends_at", "must be after starts_at")
			ok = false
		case ev.EndsAt.Sub(ev.StartsAt) > MaxDuration:
			d.add("ends_at", "is more than %d days after starts_at: split a longer programme into several events", MaxDuration/(24*time.Hour))
		case checkNow && !ev.EndsAt.After(now):
			d.add("ends_at", "is in the past: an event must end in the future")
		}
	}
	// A booking_closes_at equal to starts_at (the default) has starts_at's problems, if any.
	if b := ev.BookingClosesAt; !b.IsZero() && !b.Equal(ev.StartsAt) && inWindow("booking_closes_at", b) && ok && b.After(ev.EndsAt) {
		d.add("booking_closes_at", "must not be after ends_at (leave it out to close booking when the event starts)")
	}
	if loc != nil {
		for _, t := range []*time.Time{&ev.StartsAt, &ev.EndsAt, &ev.BookingClosesAt} {
			if !t.IsZero() {
				*t = t.In(loc)
			}
		}
	}
}

// validateLocation checks a location and normalises its postcode.
func (d *decoder) validateLocation(l *Location) {
	if d.hasFailed("location.online") {
		return // which rules apply is unknown
	}
	if l.Online {
		l.JoiningURL = strings.TrimSpace(l.JoiningURL)
		if msg := joiningURLProblem(l.JoiningURL); msg != "" {
			d.add("location.joining_url", "%s", msg)
		}
		for _, f := range []struct{ name, v string }{{"venue", l.Venue}, {"address", l.Address}, {"postcode", l.Postcode}} {
			if strings.TrimSpace(f.v) != "" {
				d.add("location."+f.name, "must be left out for an online event")
			}
		}
		l.Venue, l.Address, l.Postcode = "", "", ""
		return
	}
	if strings.TrimSpace(l.JoiningURL) != "" {
		d.add("location.joining_url", "must be left out for an event at a venue (set online to true for an online event)")
	}
	l.JoiningURL = ""
	l.Venue = d.text("location.venue", l.Venue, textRule{required: true, max: MaxVenue, what: "the venue's name"})
	l.Address = d.text("location.address", l.Address, textRule{required: true, max: MaxAddress, multiLine: true, what: "the venue's address"})
	if l.Postcode = strings.TrimSpace(l.Postcode); l.Postcode != "" {
		if pc, ok := NormalisePostcode(l.Postcode); ok {
			l.Postcode = pc
		} else {
			d.add("location.postcode", "must be a UK postcode such as SW1A 1AA (or left out)")
		}
	}
}

// joiningURLProblem returns what is wrong with an online event's joining URL, or "".
func joiningURLProblem(s string) string {
	if s == "" {
		return "is required for an online event: the https:// link attendees use to join"
	}
	if len(s) > MaxJoiningURL {
		return fmt.Sprintf("is %d bytes long; at most %d are allowed", len(s), MaxJoiningURL)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || unicode.IsControl(r) }):
		return "is not a valid URL (spaces must be written %20)"
	case !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		return "must be an absolute https:// URL, such as https://meet.example.org/abc"
	case u.User != nil:
		return "must not contain a user name or password"
	}
	return ""
}

// NormalisePostcode returns s as a UK postcode in upper case with one space before the last
// three characters ("sw1a1aa" → "SW1A 1AA"), and whether s is one.
func NormalisePostcode(s string) (string, bool) {
	c := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if !postcode().MatchString(c) {
		return "", false
	}
	return c[:len(c)-3] + " " + c[len(c)-3:], true
}

// validateTickets checks the tickets against each other and the event's capacity (when that
// is itself valid).
func (d *decoder) validateTickets(ts []Ticket, capacity int, capacityOK bool) {
	switch {
	case len(ts) == 0:
		d.add("tickets", "is required: a list of 1 to %d tickets, such as [{\"id\": \"standard\", \"label\": \"Standard\", \"price_pence\": 9500}]", MaxTickets)
	case len(ts) > MaxTickets:
		d.add("tickets", "has %d tickets; at most %d are allowed", len(ts), MaxTickets)
	}
	for i := range ts {
		t, p := &ts[i], index("tickets", i)
		if !ticketID().MatchString(t.ID) {
			if t.ID == "" {
				d.add(p+".id", "is required: 1 to 40 lower-case letters, digits and hyphens, starting with a letter or digit")
			} else {
				d.add(p+".id", "must be 1 to 40 lower-case letters, digits and hyphens, starting with a letter or digit")
			}
		} else if j := slices.IndexFunc(ts[:i], func(o Ticket) bool { return o.ID == t.ID }); j >= 0 {
			d.add(p+".id", "%q is already the id of tickets[%d]: each ticket needs its own id", t.ID, j)
		}
		t.Label = d.text(p+".label", t.Label, textRule{required: true, max: MaxTicketLabel, what: "a label"})
		if t.PricePence < 0 || t.PricePence > MaxPricePence {
			d.add(p+".price_pence", "must be a whole number of pence from 0 (free) to %d (%s)", MaxPricePence, FormatPrice(MaxPricePence))
		}
		if t.Capacity < 0 || t.Capacity > MaxCapacity || (capacityOK && t.Capacity > capacity) {
			d.add(p+".capacity", "must be between 1 and the event's capacity, or left out for no limit of its own")
		}
	}
}
