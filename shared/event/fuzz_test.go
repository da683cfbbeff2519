package event

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sectorhub/shared/apperr"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/directory"
	sectormail "sectorhub/shared/mail"
)

// checkEvent fails t unless ev satisfies every documented limit of an accepted event. It is
// written apart from the validation it checks.
func checkEvent(tb testing.TB, ev Event) {
	tb.Helper()
	fail := func(format string, args ...any) { tb.Helper(); tb.Errorf("accepted event: "+format, args...) }
	runes := utf8.RuneCountInString
	oneLineText := func(name, s string, max int, required bool) {
		tb.Helper()
		if !utf8.ValidString(s) || runes(s) > max || (required && s == "") || s != strings.TrimSpace(s) || strings.ContainsFunc(s, func(r rune) bool {
			return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
		}) {
			fail("%s = %q breaks its limits (%d characters, one line)", name, s, max)
		}
	}
	multiLineText := func(name, s string, max int, required bool) {
		tb.Helper()
		if !utf8.ValidString(s) || runes(s) > max || (required && s == "") || strings.ContainsFunc(s, func(r rune) bool { return (r < ' ' && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
			fail("%s = %q breaks its limits (%d characters)", name, s, max)
		}
	}
	oneLineText("title", ev.Title, 200, true)
	oneLineText("summary", ev.Summary, 500, true)
	multiLineText("description", ev.Description, 20_000, false)
	if len(ev.Description) > 20_000 || strings.ContainsRune(ev.Description, '\r') {
		fail("description is %d bytes or holds CR", len(ev.Description))
	}
	if !slices.Contains([]string{"conference", "training", "webinar", "network-meeting"}, ev.Type) {
		fail("type %q", ev.Type)
	}
	loc, err := time.LoadLocation(ev.Timezone)
	if err != nil || ev.Timezone == "" || ev.Timezone == "Local" {
		fail("timezone %q: %v", ev.Timezone, err)
	} else if ev.StartsAt.Location().String() != loc.String() {
		fail("starts_at in %s; want %s", ev.StartsAt.Location(), loc)
	}
	y2000, y2100 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []time.Time{ev.StartsAt, ev.EndsAt, ev.BookingClosesAt} {
		if tt.Before(y2000) || !tt.Before(y2100) || tt.Nanosecond() != 0 {
			fail("time %v outside 2000–2099 or not to the second", tt)
		}
	}
	if !ev.EndsAt.After(ev.StartsAt) || ev.EndsAt.Sub(ev.StartsAt) > 90*24*time.Hour || ev.BookingClosesAt.After(ev.EndsAt) {
		fail("times %v – %v, closing %v", ev.StartsAt, ev.EndsAt, ev.BookingClosesAt)
	}
	l := ev.Location
	if l.Online {
		u, err := url.Parse(l.JoiningURL)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil || len(l.JoiningURL) > 2000 || l.Venue+l.Address+l.Postcode != "" || strings.ContainsAny(l.JoiningURL, " \n\t") {
			fail("online location %+v", l)
		}
	} else {
		oneLineText("venue", l.Venue, 200, true)
		multiLineText("address", l.Address, 500, true)
		if l.JoiningURL != "" || (l.Postcode != "" && !regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$|^GIR 0AA$`).MatchString(l.Postcode)) {
			fail("location %+v", l)
		}
	}
	if ev.Capacity < 1 || ev.Capacity > 10_000 {
		fail("capacity %d", ev.Capacity)
	}
	if len(ev.Tickets) < 1 || len(ev.Tickets) > 10 {
		fail("%d tickets", len(ev.Tickets))
	}
	ids := map[string]bool{}
	for _, t := range ev.Tickets {
		if !regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`).MatchString(t.ID) || ids[t.ID] {
			fail("ticket id %q (repeated: %v)", t.ID, ids[t.ID])
		}
		ids[t.ID] = true
		oneLineText("ticket label", t.Label, 100, true)
		if t.PricePence < 0 || t.PricePence > 10_000_000 || t.Capacity < 0 || t.Capacity > ev.Capacity {
			fail("ticket %+v", t)
		}
		if _, ok := ev.TicketConfirmed[t.ID]; !ok {
			fail("ticket %q has no count", t.ID)
		}
	}
	if len(ev.TicketConfirmed) != len(ev.Tickets) {
		fail("ticket counts %v for %d tickets", ev.TicketConfirmed, len(ev.Tickets))
	}
	for _, vocab := range []struct {
		slugs []string
		terms []string
	}{{ev.Themes, slugsOf(casestudy.Themes)}, {ev.Regions, slugsOf(casestudy.Regions.Terms)}} {
		last := -1
		for _, s := range vocab.slugs {
			i := slices.Index(vocab.terms, s)
			if i <= last {
				fail("themes/regions %v not known slugs in vocabulary order without repeats", vocab.slugs)
			}
			last = i
		}
	}
	if ev.Status != StatusDraft && ev.Status != StatusPublished {
		fail("status %q", ev.Status)
	}
}

func slugsOf(terms []directory.Term) []string {
	s := make([]string, len(terms))
	for i, t := range terms {
		s[i] = t.Slug
	}
	return s
}

// checkBooking fails t unless r satisfies every documented limit of an accepted booking for ev.
func checkBooking(tb testing.TB, r BookingRequest, ev Event) {
	tb.Helper()
	fail := func(format string, args ...any) { tb.Helper(); tb.Errorf("accepted booking: "+format, args...) }
	text := func(name, s string, max int, required, multi bool) {
		tb.Helper()
		bad := func(c rune) bool {
			if multi && (c == '\n' || c == '\t') {
				return false
			}
			return c < ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0)
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || (required && s == "") || s != strings.TrimSpace(s) || strings.ContainsFunc(s, bad) {
			fail("%s breaks its limits (%d characters)", name, max)
		}
	}
	email := func(name, s string) {
		tb.Helper()
		a, err := mail.ParseAddress(s)
		at := strings.LastIndexByte(s, '@')
		if err != nil || a.Address != s || len(s) > 254 || at < 0 || at > 64 || s[at+1:] != strings.ToLower(s[at+1:]) || !strings.Contains(s[at:], ".") {
			fail("%s is not a bare address with a lower-case domain", name)
		}
		// The mail builder takes it: a booking that stands can be mailed.
		if _, err := sectormail.Build(sectormail.Message{From: "events@example.org", To: []string{s}, Subject: "s", Text: "t", HTML: "h"}, now); err != nil {
			fail("%s is refused by mail.Build: %v", name, err)
		}
	}
	text("name", r.Name, 200, true, false)
	email("email", r.Email)
	text("organisation", r.Organisation, 200, false, false)
	text("job_title", r.JobTitle, 200, false, false)
	text("access_needs", r.AccessNeeds, 1000, false, true)
	text("dietary", r.Dietary, 500, false, true)
	t, ok := ev.Ticket(r.Ticket)
	if !ok {
		fail("ticket %q is not the event's", r.Ticket)
	}
	if t.MembersOnly && r.Organisation == "" {
		fail("members-only ticket without organisation")
	}
	switch {
	case t.PricePence == 0 && r.Invoice != nil:
		fail("an invoice for a free ticket")
	case t.PricePence > 0 && r.Invoice == nil:
		fail("no invoice for a paid ticket")
	case r.Invoice != nil:
		email("billing_email", r.Invoice.BillingEmail)
		text("invoice.address", r.Invoice.Address, 500, true, true)
		text("invoice.purchase_order", r.Invoice.PurchaseOrder, 100, false, false)
	}
}

// checkProblems fails t unless every problem has a message, and no two share a field.
func checkProblems(tb testing.TB, ps []apperr.Problem) {
	tb.Helper()
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Message == "" || seen[p.Field] {
			tb.Errorf("problem %+v: no message, or a second one for its field", p)
		}
		seen[p.Field] = true
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, b := range []map[string]any{venueBody(), onlineBody()} {
		f.Add(mustJSON(f, b))
	}
	f.Add([]byte(`{"title": "\u0000", "tickets": [{"id": "a", "capacity": 1e3}], "location": {"online": null}}`))
	f.Add([]byte(`{"starts_at": "2026-12-11T10:00:00+23:59", "timezone": "America/Sao_Paulo", "themes": ["Arts & culture"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, problems := ParseEvent(body, now)
		checkProblems(t, problems)
		if len(problems) == 0 {
			checkEvent(t, ev)
			decode(t, Calendar(ev, CalendarOptions{SiteURL: "https://example.org", Now: now, JoiningURL: true}))
		}
	})
}

func FuzzPatchEvent(f *testing.F) {
	f.Add([]byte(`{"title": "x", "tickets": [{"id": "member", "label": "M", "price_pence": 1}]}`))
	f.Add([]byte(`{"status": "draft", "booking_closes_at": null, "timezone": "Pacific/Chatham"}`))
	f.Add([]byte(`{"location": {"online": true, "joining_url": "https://a.example/"}, "capacity": 2}`))
	base := mustEvent(f, venueBody())
	base.Confirmed, base.TicketConfirmed = 2, map[string]int{"member": 2, "non-member": 0}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, problems := PatchEvent(base, body, now)
		checkProblems(t, problems)
		if len(problems) == 0 {
			checkEvent(t, ev)
			_ = PatchConflict(base, ev)
			if ev.Status != base.Status {
				t.Errorf("PatchEvent changed the status of a booked event")
			}
		}
	})
}

func FuzzParseBooking(f *testing.F) {
	f.Add([]byte(`{"name": "Ada", "email": "Ada@Example.ORG", "organisation": "Org", "ticket": "member", "invoice": {"billing_email": "a@b.co", "address": "1 Road"}}`))
	f.Add([]byte(`{"name": " A ", "email": "a@b.co", "ticket": "free", "access_needs": "a\r\nb", "invoice": 3}`))
	f.Add([]byte(`{"name": "\u2028", "email": "a@[1.2.3.4]", "ticket": "non-member", "invoice": {"address": "\u0000"}}`))
	// Addresses that pass a plain host-name check but not IDNA's, or too long before the @.
	f.Add([]byte(`{"name": "A", "email": "a@ab--cd.org", "ticket": "free"}`))
	f.Add([]byte(`{"name": "A", "email": "a@xn--zz.org", "ticket": "free"}`))
	f.Add([]byte(`{"name": "A", "email": "a@xn--caf-dma.org", "ticket": "non-member", "invoice": {"billing_email": "b@xn--a.org", "address": "1 Road"}}`))
	f.Add([]byte(`{"name": "A", "email": "` + strings.Repeat("a", 65) + `@b.co", "ticket": "free"}`))
	ev := mustEvent(f, venueBody())
	ev.Tickets = append(ev.Tickets, Ticket{ID: "free", Label: "Free", PricePence: 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, problems := ParseBooking(body, ev)
		checkProblems(t, problems)
		if len(problems) == 0 {
			checkBooking(t, r, ev)
		}
	})
}

func FuzzToken(f *testing.F) {
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("é", 22))
	f.Fuzz(func(t *testing.T, s string) {
		if ValidToken(s) && (len(s) != 43 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "") {
			t.Errorf("ValidToken(%q) = true", s)
		}
		_ = ValidID(s)
		tok, err := NewToken()
		if err != nil || !ValidToken(tok) {
			t.Errorf("NewToken() = %q, %v; not valid", tok, err)
		}
	})
}
