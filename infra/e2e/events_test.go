package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"sectorhub/infra/localstack"
	"sectorhub/shared/apperr"
	"sectorhub/shared/event"
	"sectorhub/shared/eventapi"
	"sectorhub/shared/mail"
)

// TestEventsEndToEnd books through the local stack over HTTP, as visitors do, with the real
// EventsFunction and StaffEventsFunction, and reads the mail they sent from the stack's SES
// capture: 200 people booking 50 places at once, then 20 of them cancelling at once, and the
// booking rules a visitor meets one at a time.
func TestEventsEndToEnd(t *testing.T) {
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			began := time.Now()
			es := startEvents(t, endpoint)

			closing, early, closesAt := closingSoon(t, es)

			t.Run("200 concurrent bookings, then 20 concurrent cancellations", func(t *testing.T) {
				raceAndCancel(t, es)
			})
			t.Run("an Idempotency-Key retry gets the first response", func(t *testing.T) {
				idempotentRetry(t, es)
			})
			t.Run("the booking page never cancels; its form and DELETE do, once", func(t *testing.T) {
				bookingPage(t, es)
			})
			t.Run("the joining URL is only in the confirmation mail", func(t *testing.T) {
				joiningURL(t, es)
			})
			t.Run("the calendar file parses", func(t *testing.T) {
				calendarFile(t, es)
			})
			t.Run("a members-only ticket without organisation", func(t *testing.T) {
				membersOnly(t, es)
			})
			t.Run("booking after booking_closes_at, cancelling after the event", func(t *testing.T) {
				afterClosing(t, es, closing, early, closesAt)
			})
			t.Logf("%s: events end to end took %v", name, time.Since(began).Round(100*time.Millisecond))
		})
	}
}

// closingIn is how far ahead the closing event's booking closes at first: long enough for its
// creation and one booking on a fresh stack under -race, short enough that the other subtests
// cover most of the wait.
const closingIn = 12 * time.Second

// closingSoon creates an event whose booking closes a few seconds from now and which ends two
// seconds later, and books a place on it while booking is open; the last subtest waits for
// those moments while the others run. On a machine too slow to book in time, it tries again
// with twice the time.
func closingSoon(t *testing.T, es *eventsStack) (eventapi.StaffEvent, reply, time.Time) {
	t.Helper()
	for wait := closingIn; ; wait *= 2 {
		closesAt := time.Now().Add(wait).Truncate(time.Second)
		ev := es.create(t, eventBody(fmt.Sprintf("Network meeting, closing in %v", wait), "network-meeting", closesAt.Add(time.Second), time.Second, 10, map[string]any{
			"booking_closes_at": closesAt.Format(time.RFC3339),
		}))
		early, err := es.book(ev.ID, person("early.bird@example.org", "standard"), nil)
		if err == nil && early.status == http.StatusCreated {
			return ev, early, closesAt
		}
		if err != nil || errorCode(early.body) != apperr.BookingClosed || wait > 2*time.Minute {
			t.Fatalf("booking %s before booking closes (at %s) = %v, %v; want 201", ev.ID, closesAt.Format(time.TimeOnly), early, err)
		}
	}
}

// Capacity and people of the race.
const (
	raceCapacity     = 50
	raceLimit        = 10 // the limited ticket's own capacity
	racePeople       = 200
	raceCancels      = 20
	raceWaitlisted   = racePeople - raceCapacity
	raceTitle        = "Race conference"
	raceLimitedEvery = 4 // every fourth person books the limited ticket
)

// raceBooking is one of the race's bookings: who, what they asked for and what they got.
type raceBooking struct {
	email, ticket string
	eventapi.BookingSummary
}

// raceAndCancel is the race of issue 7: 200 people book an event of 50 places (a waiting list;
// the "limited" ticket has 10 of its own) at once, then 20 confirmed people cancel at once. No
// answer may be other than 201, no place or ticket overbooked, every waiting-list position
// given once, every person mailed once; the freed places go to the first 20 waiting whose
// ticket fits, each mailed once, as is each canceller.
func raceAndCancel(t *testing.T, es *eventsStack) {
	began := time.Now()
	defer func() {
		t.Logf("the race, the cancellations and their checks took %v", time.Since(began).Round(time.Millisecond))
	}()
	ev := es.create(t, eventBody(raceTitle, "conference", inDays(30, 9, 30), 7*time.Hour, raceCapacity, map[string]any{
		"waiting_list": true,
		"tickets": []map[string]any{
			freeTicket("standard", "Standard place", 0),
			freeTicket("limited", "Limited place", raceLimit),
		},
	}))

	// 200 people book at once, each with an address of their own; every fourth the limited ticket.
	people := make([]raceBooking, racePeople)
	answers := make([]reply, racePeople)
	errs := make([]error, racePeople)
	var wg sync.WaitGroup
	for i := range people {
		people[i].email = fmt.Sprintf("race.%03d@example.org", i)
		people[i].ticket = "standard"
		if i%raceLimitedEvery == raceLimitedEvery-1 {
			people[i].ticket = "limited"
		}
		wg.Go(func() { answers[i], errs[i] = es.book(ev.ID, person(people[i].email, people[i].ticket), nil) })
	}
	wg.Wait()
	t.Logf("%d concurrent bookings took %v", racePeople, time.Since(began).Round(time.Millisecond))

	statuses := map[int]int{}
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatalf("POST /events/%s/bookings #%d: %v", ev.ID, i, errs[i])
		}
		statuses[a.status]++
		if a.status != http.StatusCreated {
			if statuses[a.status] <= 3 {
				t.Errorf("POST /events/%s/bookings #%d = %d %s; want 201", ev.ID, i, a.status, a.body)
			}
			continue
		}
		var r eventapi.BookingResponse
		if err := json.Unmarshal(a.body, &r); err != nil {
			t.Fatalf("booking #%d: %v in %s", i, err, a.body)
		}
		people[i].BookingSummary = r.Booking
	}
	if statuses[http.StatusCreated] != racePeople {
		t.Fatalf("answers by status: %v; want all %d 201 (no 5xx, no refusals)", statuses, racePeople)
	}

	var confirmed, limited int
	positions := map[int]int{}
	perTicket := map[string]int{"standard": 0, "limited": 0}
	for i, p := range people {
		if p.EventID != ev.ID || p.Ticket != p.ticket || p.AmountPence != 0 || p.ID == "" {
			t.Errorf("booking #%d = %+v; want event %s, ticket %s, free", i, p.BookingSummary, ev.ID, p.ticket)
		}
		switch p.Status {
		case event.BookingConfirmed:
			confirmed++
			perTicket[p.Ticket]++
			if p.Ticket == "limited" {
				limited++
			}
			if p.Position != 0 {
				t.Errorf("confirmed booking #%d has position %d; want none", i, p.Position)
			}
		case event.BookingWaitlisted:
			positions[p.Position]++
		default:
			t.Errorf("booking #%d has status %q; want confirmed or waitlisted", i, p.Status)
		}
	}
	if confirmed != raceCapacity || limited > raceLimit || len(positions) != raceWaitlisted {
		t.Fatalf("after the race: %d confirmed (%d on the limited ticket), %d waiting-list positions; want %d, at most %d, %d",
			confirmed, limited, len(positions), raceCapacity, raceLimit, raceWaitlisted)
	}
	for p := 1; p <= raceWaitlisted; p++ {
		if positions[p] != 1 {
			t.Errorf("waiting-list position %d given %d times; want once", p, positions[p])
		}
	}
	es.checkCounts(t, ev.ID, raceCapacity, raceWaitlisted, perTicket)
	es.checkStored(t, ev.ID, people)

	// One mail per booking: the confirmation or the waiting-list mail, one per address.
	confirmations := es.mails(t, "Booking confirmed: "+raceTitle)
	waitlisted := es.mails(t, "You're on the waiting list: "+raceTitle)
	if n, m := count(confirmations), count(waitlisted); n != raceCapacity || m != raceWaitlisted {
		t.Errorf("captured %d confirmations and %d waiting-list mails; want %d and %d", n, m, raceCapacity, raceWaitlisted)
	}
	for i, p := range people {
		want, other := confirmations, waitlisted
		if p.Status == event.BookingWaitlisted {
			want, other = waitlisted, confirmations
		}
		if len(want[p.email]) != 1 || len(other[p.email]) != 0 {
			t.Errorf("booking #%d (%s): %d mails of its kind, %d of the other; want exactly one of its kind", i, p.Status, len(want[p.email]), len(other[p.email]))
		}
	}
	for _, ms := range waitlisted {
		for _, m := range ms {
			if !strings.Contains(m.text, "You are number ") {
				t.Errorf("a waiting-list mail does not give the position:\n%s", m.text)
			}
		}
	}
	if t.Failed() {
		return
	}

	// The order the waiting list is served in: each cancellation below frees a standard
	// place, so the list is walked in position order, limited tickets only while their
	// ticket has room.
	waiting := slices.DeleteFunc(slices.Clone(people), func(p raceBooking) bool { return p.Status != event.BookingWaitlisted })
	slices.SortFunc(waiting, func(a, b raceBooking) int { return a.Position - b.Position })
	var want []int
	room := raceLimit - limited
	for _, p := range waiting {
		if len(want) == raceCancels {
			break
		}
		if p.Ticket == "limited" {
			if room == 0 {
				continue
			}
			room--
		}
		want = append(want, p.Position)
	}
	var cancellers []raceBooking
	var tokens []string
	for _, p := range people {
		if p.Status == event.BookingConfirmed && p.Ticket == "standard" && len(cancellers) < raceCancels {
			cancellers = append(cancellers, p)
			tokens = append(tokens, es.cancelToken(t, confirmations[p.email][0]))
		}
	}

	cancelling := time.Now()
	cancelled := make([]reply, len(tokens))
	for i, token := range tokens {
		wg.Go(func() {
			cancelled[i], errs[i] = do(http.MethodDelete, es.URL()+"/bookings/"+token, http.Header{"Accept": {"application/json"}}, nil)
		})
	}
	wg.Wait()
	t.Logf("%d concurrent cancellations took %v", len(tokens), time.Since(cancelling).Round(time.Millisecond))
	for i, a := range cancelled {
		var tb eventapi.TokenBooking
		if errs[i] != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &tb) != nil {
			t.Fatalf("DELETE /bookings/{token} #%d = %v, %v; want 200 and the booking", i, a, errs[i])
		}
		if tb.Booking.ID != cancellers[i].ID || tb.Booking.Status != event.BookingCancelled {
			t.Errorf("DELETE /bookings/{token} #%d = booking %s %s; want %s cancelled", i, tb.Booking.ID, tb.Booking.Status, cancellers[i].ID)
		}
	}

	// Exactly 20 promoted, the first 20 who fit, each mailed once; each canceller mailed once.
	promotedMail := es.mails(t, "A place is yours: "+raceTitle)
	cancelledMail := es.mails(t, "Booking cancelled: "+raceTitle)
	byEmail := map[string]raceBooking{}
	for _, p := range people {
		byEmail[p.email] = p
	}
	var promoted []int
	for email, ms := range promotedMail {
		p, ok := byEmail[email]
		if !ok || p.Status != event.BookingWaitlisted || len(ms) != 1 {
			t.Errorf("%d promotion mails to a booking that was %s; want one, to a waiting one", len(ms), p.Status)
			continue
		}
		promoted = append(promoted, p.Position)
	}
	slices.Sort(promoted)
	if fmt.Sprint(promoted) != fmt.Sprint(want) {
		t.Errorf("promotion mails went to waiting-list positions %v; want the first %d whose ticket fits, %v", promoted, raceCancels, want)
	}
	for i, p := range cancellers {
		if n := len(cancelledMail[p.email]); n != 1 {
			t.Errorf("canceller #%d got %d cancellation mails; want 1", i, n)
		}
	}
	if n := count(cancelledMail); n != raceCancels {
		t.Errorf("captured %d cancellation mails; want %d", n, raceCancels)
	}

	stored := es.bookings(t, ev.ID)
	var storedPromoted []int
	for _, b := range stored {
		if b.Status == event.BookingConfirmed && b.Position > 0 {
			storedPromoted = append(storedPromoted, b.Position)
		}
	}
	slices.Sort(storedPromoted)
	if fmt.Sprint(storedPromoted) != fmt.Sprint(want) {
		t.Errorf("GET /staff/events/%s/bookings: confirmed from the waiting list at positions %v; want %v", ev.ID, storedPromoted, want)
	}
	after := es.staffEvent(t, ev.ID)
	total := 0
	for _, n := range after.TicketConfirmed {
		total += n
	}
	if after.Confirmed != raceCapacity || after.Waiting != raceWaitlisted-raceCancels || total != raceCapacity || after.TicketConfirmed["limited"] > raceLimit {
		t.Errorf("GET /staff/events/%s after the cancellations: confirmed %d, waiting %d, per ticket %v; want %d, %d, summing to %d with limited ≤ %d",
			ev.ID, after.Confirmed, after.Waiting, after.TicketConfirmed, raceCapacity, raceWaitlisted-raceCancels, raceCapacity, raceLimit)
	}
}

// idempotentRetry books with an Idempotency-Key and retries: the same body again, one booking,
// one mail; the key with another body is a conflict.
func idempotentRetry(t *testing.T, es *eventsStack) {
	ev := es.create(t, eventBody("Training day, idempotent", "training", inDays(20, 10, 0), 6*time.Hour, 100, nil))
	body := person("retry@example.org", "standard")
	key := http.Header{"Idempotency-Key": {"e2e-7f3c9a52-retry"}}
	first, err := es.book(ev.ID, body, key)
	if err != nil || first.status != http.StatusCreated {
		t.Fatalf("POST /events/%s/bookings with an Idempotency-Key = %v, %v; want 201", ev.ID, first, err)
	}
	again, err := es.book(ev.ID, body, key)
	if err != nil || again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) {
		t.Errorf("the retry = %v, %v; want 201 with the first body %s", again, err, first.body)
	}
	other := person("someone.else@example.org", "standard")
	if a, err := es.book(ev.ID, other, key); err != nil || a.status != http.StatusConflict || errorCode(a.body) != apperr.Conflict {
		t.Errorf("the same Idempotency-Key with another body = %v, %v; want 409 conflict", a, err)
	}
	if a, err := es.book(ev.ID, body, nil); err != nil || a.status != http.StatusConflict || errorCode(a.body) != apperr.AlreadyBooked {
		t.Errorf("the same address without the key = %v, %v; want 409 %s", a, err, apperr.AlreadyBooked)
	}
	if got := es.staffEvent(t, ev.ID); got.Confirmed != 1 {
		t.Errorf("confirmed after a booking and its retry = %d; want 1", got.Confirmed)
	}
	if n := len(es.mails(t, "Booking confirmed: Training day, idempotent")["retry@example.org"]); n != 1 {
		t.Errorf("%d confirmations after a booking and its retry; want 1", n)
	}
}

// bookingPage follows the cancel link of a confirmation as a mail scanner would (GET, twice),
// then submits the page's form as a browser would, then cancels again with DELETE.
func bookingPage(t *testing.T, es *eventsStack) {
	const title = "Training day, booking page"
	ev := es.create(t, eventBody(title, "training", inDays(21, 10, 0), 6*time.Hour, 100, nil))
	const email = "page@example.org"
	if a, err := es.book(ev.ID, person(email, "standard"), nil); err != nil || a.status != http.StatusCreated {
		t.Fatalf("POST /events/%s/bookings = %v, %v; want 201", ev.ID, a, err)
	}
	mails := es.mails(t, "Booking confirmed: "+title)[email]
	if len(mails) != 1 {
		t.Fatalf("%d confirmations; want 1", len(mails))
	}
	token := es.cancelToken(t, mails[0])
	page := es.URL() + "/bookings/" + token

	// A mail scanner following the link, twice: the booking stands.
	var body []byte
	for range 2 {
		a, err := do(http.MethodGet, page, nil, nil)
		if err != nil || a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /bookings/{token} = %v, %v; want 200 HTML", a, err)
		}
		body = a.body
	}
	if !bytes.Contains(body, []byte("Cancel my booking")) || !bytes.Contains(body, []byte("Confirmed")) {
		t.Errorf("the booking page does not show a confirmed booking with its button:\n%s", body)
	}
	if got := es.tokenBooking(t, token); got.Booking.Status != event.BookingConfirmed {
		t.Errorf("after two GETs of the page the booking is %s; want confirmed", got.Booking.Status)
	}
	if got := es.staffEvent(t, ev.ID); got.Confirmed != 1 {
		t.Errorf("after two GETs of the page %d confirmed; want 1", got.Confirmed)
	}

	// The page's form, as a browser submits it.
	action := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindSubmatch(body)
	if action == nil {
		t.Fatalf("no POST form on the booking page:\n%s", body)
	}
	base, _ := url.Parse(page)
	ref, err := url.Parse(string(action[1]))
	if err != nil {
		t.Fatalf("form action %q: %v", action[1], err)
	}
	a, err := do(http.MethodPost, base.ResolveReference(ref).String(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, nil)
	if err != nil || a.status != http.StatusOK || !bytes.Contains(a.body, []byte("Your booking is cancelled")) {
		t.Fatalf("POST the page's form (%s) = %v, %v; want 200 and the cancelled page", action[1], a, err)
	}
	if got := es.tokenBooking(t, token); got.Booking.Status != event.BookingCancelled {
		t.Errorf("after the form the booking is %s; want cancelled", got.Booking.Status)
	}

	// Cancelling again (DELETE) answers as the first time and mails nobody again.
	a, err = do(http.MethodDelete, page, http.Header{"Accept": {"application/json"}}, nil)
	var tb eventapi.TokenBooking
	if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &tb) != nil || tb.Booking.Status != event.BookingCancelled {
		t.Errorf("DELETE after the form = %v, %v; want 200, cancelled", a, err)
	}
	if n := len(es.mails(t, "Booking cancelled: "+title)[email]); n != 1 {
		t.Errorf("%d cancellation mails after cancelling twice; want 1", n)
	}
	if got := es.staffEvent(t, ev.ID); got.Confirmed != 0 {
		t.Errorf("after cancelling twice %d confirmed; want 0", got.Confirmed)
	}
}

// joiningURL checks that an online event's joining URL is in no public response (the lists, the
// event, its calendar file, the booking page and its JSON, the booking's 201) but is in the
// confirmation mail.
func joiningURL(t *testing.T, es *eventsStack) {
	const (
		title   = "Webinar with a secret link"
		host    = "meet.example.net"
		joining = "https://" + host + "/j/4821-e2e?pwd=Zq7tK2"
		email   = "online@example.org"
	)
	ev := es.create(t, eventBody(title, "webinar", inDays(14, 14, 0), 90*time.Minute, 20, map[string]any{
		"location": map[string]any{"online": true, "joining_url": joining},
	}))
	booked, err := es.book(ev.ID, person(email, "standard"), nil)
	if err != nil || booked.status != http.StatusCreated {
		t.Fatalf("POST /events/%s/bookings = %v, %v; want 201", ev.ID, booked, err)
	}
	mails := es.mails(t, "Booking confirmed: "+title)[email]
	if len(mails) != 1 {
		t.Fatalf("%d confirmations; want 1", len(mails))
	}
	token := es.cancelToken(t, mails[0])

	public := []struct{ name, path, accept string }{
		{"GET /events", "/events?per_page=100", ""},
		{"GET /events?online=true", "/events?online=true&per_page=100", ""},
		{"GET /events/{id}", "/events/" + ev.ID, ""},
		{"GET /events/{id}/calendar.ics", "/events/" + ev.ID + "/calendar.ics", ""},
		{"GET /bookings/{token} (page)", "/bookings/" + token, ""},
		{"GET /bookings/{token} (JSON)", "/bookings/" + token, "application/json"},
	}
	for _, p := range public {
		var h http.Header
		if p.accept != "" {
			h = http.Header{"Accept": {p.accept}}
		}
		a, err := do(http.MethodGet, es.URL()+p.path, h, nil)
		if err != nil || a.status != http.StatusOK {
			t.Errorf("%s = %v, %v; want 200", p.name, a, err)
			continue
		}
		if !bytes.Contains(a.body, []byte(ev.ID)) && !bytes.Contains(a.body, []byte(title)) {
			t.Errorf("%s does not show the event:\n%s", p.name, a.body)
		}
		if bytes.Contains(a.body, []byte(host)) || bytes.Contains(a.body, []byte("joining_url")) {
			t.Errorf("%s shows a joining URL (%s, or a joining_url field):\n%s", p.name, host, a.body)
		}
	}
	if bytes.Contains(booked.body, []byte(host)) {
		t.Errorf("the booking's 201 shows the joining URL: %s", booked.body)
	}
	if m := mails[0]; !strings.Contains(m.text, joining) || !strings.Contains(m.html, joining) {
		t.Errorf("the confirmation mail's text and HTML parts do not both carry the joining URL %s", joining)
	}
}

// calendarFile parses GET /events/{id}/calendar.ics with go-ical: one VEVENT, the same UID on
// every download, DTSTART and DTEND in the event's zone.
func calendarFile(t *testing.T, es *eventsStack) {
	starts := inDays(40, 9, 30)
	ends := starts.Add(6*time.Hour + 30*time.Minute)
	const title = "Conference with a calendar"
	ev := es.create(t, eventBody(title, "conference", starts, ends.Sub(starts), 80, map[string]any{"timezone": "Europe/London"}))
	site, err := url.Parse(es.URL())
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for range 2 {
		a, err := do(http.MethodGet, es.URL()+"/events/"+ev.ID+"/calendar.ics", nil, nil)
		if err != nil || a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/calendar") {
			t.Fatalf("GET /events/%s/calendar.ics = %v, %v; want 200 text/calendar", ev.ID, a, err)
		}
		cal, err := ical.NewDecoder(bytes.NewReader(a.body)).Decode()
		if err != nil {
			t.Fatalf("go-ical: %v\n%s", err, a.body)
		}
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("the calendar has %d VEVENTs; want 1", len(evs))
		}
		ve := evs[0]
		uid, err := ve.Props.Text(ical.PropUID)
		if err != nil {
			t.Fatalf("UID: %v", err)
		}
		uids = append(uids, uid)
		if summary, err := ve.Props.Text(ical.PropSummary); err != nil || summary != title {
			t.Errorf("SUMMARY = %q, %v; want %q", summary, err, title)
		}
		for _, c := range []struct {
			name string
			want time.Time
		}{{ical.PropDateTimeStart, starts}, {ical.PropDateTimeEnd, ends}} {
			p := ve.Props.Get(c.name)
			if p == nil || p.Params.Get(ical.ParamTimezoneID) != "Europe/London" {
				t.Fatalf("%s = %+v; want one with TZID=Europe/London", c.name, p)
			}
			if got, err := p.DateTime(nil); err != nil || !got.Equal(c.want) {
				t.Errorf("%s = %v, %v; want %v", c.name, got, err, c.want)
			}
		}
	}
	if want := ev.ID + "@" + site.Hostname(); uids[0] != want || uids[1] != uids[0] {
		t.Errorf("UIDs of two downloads = %q; want %q both times", uids, want)
	}
}

// membersOnly books a members-only ticket without, then with, an organisation.
func membersOnly(t *testing.T, es *eventsStack) {
	ev := es.create(t, eventBody("Members' network meeting", "network-meeting", inDays(22, 13, 0), 2*time.Hour, 30, map[string]any{
		"tickets": []map[string]any{{"id": "members", "label": "Members' place", "price_pence": 0, "members_only": true}},
	}))
	noOrganisation := person("no.organisation@example.org", "members")
	delete(noOrganisation, "organisation")
	a, err := es.book(ev.ID, noOrganisation, nil)
	if err != nil || a.status != http.StatusBadRequest {
		t.Fatalf("a members-only booking without organisation = %v, %v; want 400", a, err)
	}
	var e struct {
		Error struct {
			Code     string           `json:"code"`
			Problems []apperr.Problem `json:"problems"`
		} `json:"error"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error.Code != apperr.Invalid ||
		!slices.ContainsFunc(e.Error.Problems, func(p apperr.Problem) bool { return p.Field == "organisation" }) {
		t.Errorf("the 400 = %s; want %s with a problem on organisation", a.body, apperr.Invalid)
	}
	withOrg := person("member@example.org", "members")
	withOrg["organisation"] = "Example Members' Trust"
	if a, err := es.book(ev.ID, withOrg, nil); err != nil || a.status != http.StatusCreated {
		t.Errorf("the same booking with an organisation = %v, %v; want 201", a, err)
	}
}

// afterClosing books the closing event once its booking has closed (409 booking_closed), and
// uses the early booking's cancel link once the event has ended (404: the link has expired).
func afterClosing(t *testing.T, es *eventsStack, closing eventapi.StaffEvent, early reply, closesAt time.Time) {
	var b eventapi.BookingResponse
	if err := json.Unmarshal(early.body, &b); err != nil || b.Booking.Status != event.BookingConfirmed {
		t.Fatalf("the booking made before closing = %s; want confirmed", early.body)
	}
	mails := es.mails(t, "Booking confirmed: "+closing.Title)["early.bird@example.org"]
	if len(mails) != 1 {
		t.Fatalf("%d confirmations of the booking made before closing; want 1", len(mails))
	}
	token := es.cancelToken(t, mails[0])

	time.Sleep(time.Until(closesAt))
	a, err := es.book(closing.ID, person("late@example.org", "standard"), nil)
	if err != nil || a.status != http.StatusConflict || errorCode(a.body) != apperr.BookingClosed {
		t.Errorf("booking after booking_closes_at = %v, %v; want 409 %s", a, err, apperr.BookingClosed)
	}

	time.Sleep(time.Until(closing.EndsAt))
	a, err = do(http.MethodDelete, es.URL()+"/bookings/"+token, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil || a.status != http.StatusNotFound {
		t.Errorf("DELETE /bookings/{token} after the event ended = %v, %v; want 404 (the link has expired)", a, err)
	}
	if got := es.staffEvent(t, closing.ID); got.Confirmed != 1 {
		t.Errorf("after a cancel once the event had ended, %d confirmed; want the booking to stand (1)", got.Confirmed)
	}
}

// eventsStack is a local stack with a staff token, and what the events tests ask of it.
type eventsStack struct {
	*localstack.Stack
	staff string
}

func startEvents(t *testing.T, endpoint string) *eventsStack {
	t.Helper()
	st := startStack(t, endpoint)
	token, err := st.StaffToken("events@example.org")
	if err != nil {
		t.Fatal(err)
	}
	return &eventsStack{Stack: st, staff: token}
}

// reply is an HTTP response, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (a reply) String() string { return fmt.Sprintf("%d %s", a.status, a.body) }

// eventsHTTP is the events tests' client: with enough idle connections for the race's
// concurrent requests to reuse theirs.
var eventsHTTP = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: racePeople}}

// do sends a request and reads the reply. It returns errors rather than failing a test, so
// that goroutines may call it.
func do(method, rawURL string, header http.Header, body []byte) (reply, error) {
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := eventsHTTP.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func jsonHeader(extra http.Header) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// book POSTs a booking body to the event's bookings.
func (es *eventsStack) book(eventID string, body map[string]any, header http.Header) (reply, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return reply{}, err
	}
	return do(http.MethodPost, es.URL()+"/events/"+eventID+"/bookings", jsonHeader(header), b)
}

// staffDo makes a staff request and decodes a want reply into out.
func (es *eventsStack) staffDo(t *testing.T, method, path string, body []byte, want int, out any) {
	t.Helper()
	a, err := do(method, es.URL()+path, jsonHeader(http.Header{"Authorization": {"Bearer " + es.staff}}), body)
	if err != nil || a.status != want {
		t.Fatalf("%s %s = %v, %v; want %d", method, path, a, err, want)
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, a.body)
	}
}

// create creates a published event through POST /staff/events.
func (es *eventsStack) create(t *testing.T, body map[string]any) eventapi.StaffEvent {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var ev eventapi.StaffEvent
	es.staffDo(t, http.MethodPost, "/staff/events", b, http.StatusCreated, &ev)
	if ev.ID == "" {
		t.Fatalf("POST /staff/events answered an event without an id")
	}
	return ev
}

func (es *eventsStack) staffEvent(t *testing.T, id string) eventapi.StaffEvent {
	t.Helper()
	var ev eventapi.StaffEvent
	es.staffDo(t, http.MethodGet, "/staff/events/"+id, nil, http.StatusOK, &ev)
	return ev
}

func (es *eventsStack) bookings(t *testing.T, id string) []eventapi.StaffBooking {
	t.Helper()
	var page eventapi.BookingsPage
	es.staffDo(t, http.MethodGet, "/staff/events/"+id+"/bookings", nil, http.StatusOK, &page)
	return page.Items
}

// tokenBooking is GET /bookings/{token} as JSON.
func (es *eventsStack) tokenBooking(t *testing.T, token string) eventapi.TokenBooking {
	t.Helper()
	a, err := do(http.MethodGet, es.URL()+"/bookings/"+token, http.Header{"Accept": {"application/json"}}, nil)
	var tb eventapi.TokenBooking
	if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &tb) != nil {
		t.Fatalf("GET /bookings/{token} as JSON = %v, %v; want 200 and the booking", a, err)
	}
	return tb
}

// checkCounts compares the staff view of the event's counts with what the bookings answered.
func (es *eventsStack) checkCounts(t *testing.T, id string, confirmed, waiting int, perTicket map[string]int) {
	t.Helper()
	ev := es.staffEvent(t, id)
	if ev.Confirmed != confirmed || ev.Waiting != waiting || fmt.Sprint(ev.TicketConfirmed) != fmt.Sprint(perTicket) {
		t.Errorf("GET /staff/events/%s: confirmed %d, waiting %d, per ticket %v; want %d, %d, %v (as the bookings answered)",
			id, ev.Confirmed, ev.Waiting, ev.TicketConfirmed, confirmed, waiting, perTicket)
	}
}

// checkStored compares the staff list of the event's bookings with what each booking answered.
func (es *eventsStack) checkStored(t *testing.T, id string, people []raceBooking) {
	t.Helper()
	stored := map[string]eventapi.StaffBooking{}
	for _, b := range es.bookings(t, id) {
		stored[b.ID] = b
	}
	if len(stored) != len(people) {
		t.Errorf("GET /staff/events/%s/bookings lists %d bookings; want %d", id, len(stored), len(people))
	}
	for i, p := range people {
		s, ok := stored[p.ID]
		if !ok || s.Status != p.Status || s.Position != p.Position || s.Ticket != p.Ticket || s.Email != p.email {
			t.Errorf("booking #%d stored as %+v (found %v); want %s, position %d, ticket %s", i, s, ok, p.Status, p.Position, p.Ticket)
		}
	}
}

// received is a captured mail, decoded.
type received struct {
	text, html string
}

// mails returns the captured mails with subject, decoded, by recipient address, after a sweep
// of the outbox as MailOutboxFunction's schedule makes every minute: a booking that took more
// than a few seconds (many at once on a busy machine) leaves its mail to the sweep rather than
// send it inline, and the sweep must not send anything twice.
func (es *eventsStack) mails(t *testing.T, subject string) map[string][]received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := es.Invoke(ctx, "MailOutboxFunction", []byte(`{}`))
	var rep mail.SweepReport
	if err != nil || json.Unmarshal(out, &rep) != nil {
		t.Fatalf("invoke MailOutboxFunction = %s, %v; want its sweep report", out, err)
	}
	if rep != (mail.SweepReport{}) {
		t.Logf("the outbox sweep: %+v", rep)
	}
	mails := map[string][]received{}
	for _, m := range es.Outbox().Messages() {
		if m.Subject != subject {
			continue
		}
		r, err := decodeMail(m.Raw)
		if err != nil {
			t.Fatalf("mail %q: %v", subject, err)
		}
		for _, to := range m.Destinations {
			mails[to] = append(mails[to], r)
		}
	}
	return mails
}

// count is how many mails there are in all.
func count(mails map[string][]received) int {
	n := 0
	for _, ms := range mails {
		n += len(ms)
	}
	return n
}

// cancelToken returns the token of the one cancel link <SiteUrl>/bookings/<token> in a mail's
// text part.
func (es *eventsStack) cancelToken(t *testing.T, m received) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(es.URL()+"/bookings/") + `([A-Za-z0-9_-]+)`)
	var tokens []string
	for _, match := range link.FindAllStringSubmatch(m.text, -1) {
		if !slices.Contains(tokens, match[1]) {
			tokens = append(tokens, match[1])
		}
	}
	if len(tokens) != 1 || len(tokens[0]) != 43 {
		t.Fatalf("cancel links in the mail: tokens %q; want one of 43 characters\n%s", tokens, m.text)
	}
	return tokens[0]
}

// decodeMail returns the text and HTML parts of a raw message, decoded as a mail client
// would: multipart bodies walked, quoted-printable and base64 undone.
func decodeMail(raw []byte) (received, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return received{}, err
	}
	var r received
	if err := r.walk(msg.Body, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), 0); err != nil {
		return received{}, err
	}
	if r.text == "" || r.html == "" {
		return received{}, fmt.Errorf("text part %v, HTML part %v; want both", r.text != "", r.html != "")
	}
	return r, nil
}

func (r *received) walk(body io.Reader, contentType, encoding string, depth int) error {
	if depth > 4 {
		return fmt.Errorf("MIME parts nested deeper than 4")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: the transfer encoding is undone below, as for the top level.
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mt, err)
			}
			if err := r.walk(part, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), depth+1); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mt, err)
	}
	switch mt {
	case "text/plain":
		r.text += string(b)
	case "text/html":
		r.html += string(b)
	}
	return nil
}

// errorCode is error.code of an error body.
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// inDays is a UK wall-clock time days from now, to the second.
func inDays(days, hour, minute int) time.Time {
	uk, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	d := time.Now().In(uk).AddDate(0, 0, days)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, uk)
}

// eventBody is a published staff event body at a venue with one free ticket, "standard";
// extra replaces or adds fields.
func eventBody(title, typ string, starts time.Time, length time.Duration, capacity int, extra map[string]any) map[string]any {
	body := map[string]any{
		"title":     title,
		"summary":   "An event the end-to-end tests book.",
		"type":      typ,
		"starts_at": starts.Format(time.RFC3339),
		"ends_at":   starts.Add(length).Format(time.RFC3339),
		"location":  map[string]any{"online": false, "venue": "Friends House", "address": "173 Euston Road\nLondon", "postcode": "NW1 2BJ"},
		"capacity":  capacity,
		"tickets":   []map[string]any{freeTicket("standard", "Free place", 0)},
		"status":    event.StatusPublished,
	}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// freeTicket is a free ticket; capacity 0 means no limit of its own.
func freeTicket(id, label string, capacity int) map[string]any {
	t := map[string]any{"id": id, "label": label, "price_pence": 0, "members_only": false}
	if capacity > 0 {
		t["capacity"] = capacity
	}
	return t
}

// person is a booking body for a free ticket.
func person(email, ticket string) map[string]any {
	return map[string]any{"name": "Test Attendee", "email": email, "organisation": "Example Trust", "ticket": ticket}
}
