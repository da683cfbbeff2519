package eventapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/testenv"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/eventapi"
	"sectorhub/shared/eventmail"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/mail"
)

const joiningURL = "https://meet.example.org/j/secret-room-42"

// clock is a settable time shared by the routes under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is the public and staff routes over one table and one SES capture.
type env struct {
	public, staff *httpapi.Router
	reminders     *eventapi.Reminders
	outbox        *sescapture.Outbox
	clock         *clock
	store         *dynamo.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	target := testenv.DynamoTargets(t)[0]
	db, table := testenv.NewTable(t, target)
	store := dynamo.New(db, table)
	capture := sescapture.New()
	srv := httptest.NewServer(capture)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": testenv.AccessKey, "AWS_SECRET_ACCESS_KEY": testenv.SecretKey,
		"AWS_ENDPOINT_URL_SES": srv.URL,
	}
	sender := mail.NewSES(func(k string) string { return vars[k] })
	renderer := eventmail.Renderer{From: "events@example.org", SiteURL: "https://www.example.org"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	e := &env{outbox: capture, clock: c, store: store}
	e.public = eventapi.New(eventapi.Deps{Store: store, Outbox: store, Sender: sender, Mail: renderer, SiteURL: "https://www.example.org", Now: c.Now, Log: log})
	e.staff = eventapi.NewStaff(eventapi.StaffDeps{Store: store, Outbox: store, Sender: sender, Mail: renderer, Now: c.Now, Log: log,
		RenderMarkdown: func(md []byte) (string, error) { h, _, err := markdown.Render(md); return h, err }})
	e.reminders = &eventapi.Reminders{Store: store, Outbox: store, Sender: sender, Mail: renderer, Rate: 1000, Now: c.Now, Log: log}
	return e
}

// call sends a request built from a sample event, with method, path and body replaced.
func (e *env) call(t *testing.T, router *httpapi.Router, sample, route string, params map[string]string, query, body string, headers map[string]string) httpapi.Response {
	t.Helper()
	req := testenv.HTTPEvent(t, sample)
	method, path, _ := strings.Cut(route, " ")
	req.RouteKey, req.RequestContext.RouteKey = route, route
	req.RequestContext.HTTP.Method = method
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	req.RawPath, req.RequestContext.HTTP.Path = path, path
	req.PathParameters = params
	req.RawQueryString = query
	req.Body = body
	req.IsBase64Encoded = false
	h := map[string]string{}
	for k, v := range req.Headers {
		if k != "idempotency-key" && k != "content-type" && k != "accept" {
			h[k] = v
		}
	}
	if body != "" {
		h["content-type"] = "application/json"
	}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	req.Headers = h
	resp, err := router.Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s = %d: %s", route, path, resp.StatusCode, resp.Body)
	}
	return resp
}

func decode[T any](t *testing.T, resp httpapi.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("decode %q: %v", resp.Body, err)
	}
	return v
}

type errorBody struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Problems []struct {
			Field, Message string
		} `json:"problems"`
	} `json:"error"`
}

// createEvent creates an event through the staff route from fields over a valid base.
func (e *env) createEvent(t *testing.T, fields map[string]any) eventapi.StaffEvent {
	t.Helper()
	base := map[string]any{
		"title": "Peer mentoring: getting started", "summary": "An online course.", "description": "Bring **questions**.",
		"type": "training", "starts_at": "2026-12-11T09:30:00Z", "ends_at": "2026-12-11T16:00:00Z",
		"location": map[string]any{"online": true, "joining_url": joiningURL},
		"capacity": 3, "waiting_list": true,
		"tickets": []map[string]any{
			{"id": "member", "label": "Member", "price_pence": 9500, "members_only": true},
			{"id": "free", "label": "Free place", "price_pence": 0, "members_only": false},
		},
		"status": "published",
	}
	for k, v := range fields {
		base[k] = v
	}
	b, _ := json.Marshal(base)
	resp := e.call(t, e.staff, "staff-event-create.json", "POST /staff/events", nil, "", string(b), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create event = %d: %s", resp.StatusCode, resp.Body)
	}
	return decode[eventapi.StaffEvent](t, resp)
}

func (e *env) book(t *testing.T, id, body string, headers map[string]string) httpapi.Response {
	t.Helper()
	return e.call(t, e.public, "event-book.json", "POST /events/{id}/bookings", map[string]string{"id": id}, "", body, headers)
}

func person(n int, ticket string) string {
	return fmt.Sprintf(`{"name":"Person %d","email":"person%d@example.org","organisation":"Example Trust","ticket":%q}`, n, n, ticket)
}

// tokenFor finds the cancel link's token in the last mail to address.
func (e *env) tokenFor(t *testing.T, address string) string {
	t.Helper()
	msgs := e.outbox.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].Destinations) > 0 && msgs[i].Destinations[0] == address {
			raw := string(msgs[i].Raw)
			raw = strings.ReplaceAll(raw, "=\r\n", "")
			if _, after, ok := strings.Cut(raw, "/bookings/"); ok {
				return after[:43]
			}
		}
	}
	t.Fatalf("no mail with a booking link to %s", address)
	return ""
}

func TestBookingJourney(t *testing.T) {
	e := newEnv(t)
	ev := e.createEvent(t, nil)

	// Public reads never carry the joining URL.
	list := e.call(t, e.public, "events-list.json", "GET /events", nil, "", "", nil)
	get := e.call(t, e.public, "event-get.json", "GET /events/{id}", map[string]string{"id": ev.ID}, "", "", nil)
	ics := e.call(t, e.public, "event-calendar.json", "GET /events/{id}/calendar.ics", map[string]string{"id": ev.ID}, "", "", nil)
	for name, r := range map[string]httpapi.Response{"list": list, "get": get, "calendar": ics} {
		if r.StatusCode != 200 || strings.Contains(r.Body, "secret-room") {
			t.Errorf("%s = %d, joining URL present %v", name, r.StatusCode, strings.Contains(r.Body, "secret-room"))
		}
	}
	if ct := ics.Headers["Content-Type"]; !strings.HasPrefix(ct, "text/calendar") {
		t.Errorf("calendar Content-Type = %q", ct)
	}
	page := decode[eventapi.ListPage](t, list)
	if page.Total != 1 || page.Items[0].PriceFrom != "Free" || page.Items[0].Availability != "few-left" {
		t.Errorf("list = %+v; want 1 event from Free, few-left", page)
	}
	if r := e.call(t, e.public, "event-get.json", "GET /events/{id}", map[string]string{"id": ev.ID}, "", "", map[string]string{"if-none-match": get.Headers["ETag"]}); r.StatusCode != 304 {
		t.Errorf("GET with the ETag = %d; want 304", r.StatusCode)
	}

	// Booking: confirmed, with the mail; a retry with the same key is the same booking.
	key := map[string]string{"idempotency-key": "retry-1"}
	first := e.book(t, ev.ID, person(1, "free"), key)
	again := e.book(t, ev.ID, person(1, "free"), key)
	if first.StatusCode != 201 || again.StatusCode != 201 || first.Body != again.Body {
		t.Fatalf("book then retry = %d %s / %d %s; want the same 201", first.StatusCode, first.Body, again.StatusCode, again.Body)
	}
	if r := e.book(t, ev.ID, person(2, "free"), key); r.StatusCode != 409 {
		t.Errorf("same key, other body = %d; want 409", r.StatusCode)
	}
	if r := e.book(t, ev.ID, strings.Replace(person(1, "free"), "person1@", "PERSON1@", 1), nil); r.StatusCode != 409 || decode[errorBody](t, r).Error.Code != "already_booked" {
		t.Errorf("same email again = %d %s; want 409 already_booked", r.StatusCode, r.Body)
	}

	// Validation: every problem listed.
	bad := e.book(t, ev.ID, `{"name":"","email":"nope","ticket":"member"}`, nil)
	if eb := decode[errorBody](t, bad); bad.StatusCode != 400 || len(eb.Error.Problems) < 3 {
		t.Errorf("bad booking = %d %s; want 400 with at least name, email, organisation/invoice problems", bad.StatusCode, bad.Body)
	}
	if r := e.book(t, ev.ID, strings.Repeat(" ", 17<<10)+"{}", nil); r.StatusCode != 413 {
		t.Errorf("17 KB body = %d; want 413", r.StatusCode)
	}
	if r := e.book(t, ev.ID, person(3, "free"), map[string]string{"content-type": "text/plain"}); r.StatusCode != 415 {
		t.Errorf("text/plain body = %d; want 415", r.StatusCode)
	}

	// Two more fill it; the next two wait, in order.
	for i := 2; i <= 5; i++ {
		r := e.book(t, ev.ID, person(i, "free"), nil)
		b := decode[eventapi.BookingResponse](t, r).Booking
		want := "confirmed"
		if i > 3 {
			want = "waitlisted"
		}
		if r.StatusCode != 201 || b.Status != want || (want == "waitlisted" && b.Position != i-3) {
			t.Fatalf("booking %d = %d %+v; want %s", i, r.StatusCode, b, want)
		}
	}
	if n := len(e.outbox.Messages()); n != 5 {
		t.Errorf("captured %d mails; want 5 (one per booking)", n)
	}

	// The link's page shows the booking and never cancels on GET.
	token := e.tokenFor(t, "person2@example.org")
	tp := map[string]string{"token": token}
	html := e.call(t, e.public, "booking-get.json", "GET /bookings/{token}", tp, "", "", map[string]string{"accept": "text/html"})
	if html.StatusCode != 200 || !strings.Contains(html.Body, "Cancel my booking") || !strings.Contains(html.Body, `action="`+token+`/cancel"`) {
		t.Fatalf("booking page = %d %s", html.StatusCode, html.Body)
	}
	js := e.call(t, e.public, "booking-get-json.json", "GET /bookings/{token}", tp, "", "", map[string]string{"accept": "application/json"})
	if tb := decode[eventapi.TokenBooking](t, js); tb.Booking.Status != "confirmed" || tb.Booking.Name != "Person 2" {
		t.Errorf("booking JSON = %s", js.Body)
	}

	// Cancelling frees the place for the first on the waiting list, who is mailed.
	c := e.call(t, e.public, "booking-cancel-form.json", "POST /bookings/{token}/cancel", tp, "", "", map[string]string{"accept": "text/html"})
	if c.StatusCode != 200 || !strings.Contains(c.Body, "cancelled") || strings.Contains(c.Body, "<button") {
		t.Fatalf("cancel = %d %s", c.StatusCode, c.Body)
	}
	twice := e.call(t, e.public, "booking-delete.json", "DELETE /bookings/{token}", tp, "", "", map[string]string{"accept": "application/json"})
	if tb := decode[eventapi.TokenBooking](t, twice); twice.StatusCode != 200 || tb.Booking.Status != "cancelled" {
		t.Errorf("second cancel = %d %s; want 200 cancelled", twice.StatusCode, twice.Body)
	}
	bookings := decode[eventapi.BookingsPage](t, e.call(t, e.staff, "staff-event-bookings.json", "GET /staff/events/{id}/bookings", map[string]string{"id": ev.ID}, "format=json", "", nil))
	status := map[string]string{}
	for _, b := range bookings.Items {
		status[b.Email] = b.Status
	}
	if status["person2@example.org"] != "cancelled" || status["person4@example.org"] != "confirmed" || status["person5@example.org"] != "waitlisted" {
		t.Errorf("after cancel: %v; want person2 cancelled, person4 promoted, person5 waiting", status)
	}
	if n := len(e.outbox.Messages()); n != 7 {
		t.Errorf("captured %d mails; want 7 (5 + the cancellation + the promotion)", n)
	}

	// Staff: capacity below the confirmed count, or a booked ticket's price, is a conflict.
	for name, body := range map[string]string{"capacity": `{"capacity":2}`, "price": `{"tickets":[{"id":"member","label":"Member","price_pence":9500,"members_only":true},{"id":"free","label":"Free place","price_pence":500,"members_only":false}]}`} {
		r := e.call(t, e.staff, "staff-event-update.json", "PATCH /staff/events/{id}", map[string]string{"id": ev.ID}, "", body, nil)
		if r.StatusCode != 409 {
			t.Errorf("PATCH %s = %d %s; want 409", name, r.StatusCode, r.Body)
		}
	}
	// A higher capacity promotes the waiting list at once.
	if r := e.call(t, e.staff, "staff-event-update.json", "PATCH /staff/events/{id}", map[string]string{"id": ev.ID}, "", `{"capacity":4}`, nil); r.StatusCode != 200 {
		t.Fatalf("PATCH capacity 4 = %d %s", r.StatusCode, r.Body)
	}
	got := decode[eventapi.StaffEvent](t, e.call(t, e.staff, "staff-event-get.json", "GET /staff/events/{id}", map[string]string{"id": ev.ID}, "", "", nil))
	if got.Confirmed != 4 || got.Waiting != 0 {
		t.Errorf("after capacity 4: confirmed %d, waiting %d; want 4, 0", got.Confirmed, got.Waiting)
	}

	// Reminders: once, however often the schedule fires.
	e.clock.Set(time.Date(2026, 12, 10, 10, 0, 0, 0, time.UTC))
	before := len(e.outbox.Messages())
	for range 2 {
		if _, err := e.reminders.Run(context.Background(), e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.outbox.Messages()) - before; n != 4 {
		t.Errorf("two reminder runs sent %d mails; want 4 (one per confirmed attendee)", n)
	}

	// After the event, the link stops working and booking is closed.
	e.clock.Set(time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC))
	if r := e.call(t, e.public, "booking-delete.json", "DELETE /bookings/{token}", map[string]string{"token": e.tokenFor(t, "person3@example.org")}, "", "", map[string]string{"accept": "application/json"}); r.StatusCode != 404 {
		t.Errorf("cancel after the event = %d; want 404", r.StatusCode)
	}
	if r := e.book(t, ev.ID, person(9, "free"), nil); r.StatusCode != 409 || decode[errorBody](t, r).Error.Code != "booking_closed" {
		t.Errorf("book after the event = %d %s; want 409 booking_closed", r.StatusCode, r.Body)
	}
}

func TestMembersOnlyAndInvoice(t *testing.T) {
	e := newEnv(t)
	ev := e.createEvent(t, nil)
	r := e.book(t, ev.ID, `{"name":"A","email":"a@example.org","ticket":"member"}`, nil)
	fields := map[string]bool{}
	for _, p := range decode[errorBody](t, r).Error.Problems {
		fields[p.Field] = true
	}
	if r.StatusCode != 400 || !fields["organisation"] || !fields["invoice"] {
		t.Errorf("members-only paid ticket without organisation or invoice = %d %s; want 400 naming organisation and invoice", r.StatusCode, r.Body)
	}
	ok := e.book(t, ev.ID, `{"name":"A","email":"a@example.org","organisation":"=HYPERLINK(\"x\")","ticket":"member","invoice":{"billing_email":"pay@example.org","address":"-1 Road"}}`, nil)
	if ok.StatusCode != 201 || decode[eventapi.BookingResponse](t, ok).Booking.AmountPence != 9500 {
		t.Fatalf("paid booking = %d %s", ok.StatusCode, ok.Body)
	}
	csvResp := e.call(t, e.staff, "staff-event-bookings.json", "GET /staff/events/{id}/bookings", map[string]string{"id": ev.ID}, "format=csv", "", nil)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvResp.Body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV = %v, %d rows: %s", err, len(rows), csvResp.Body)
	}
	jsonItems := decode[eventapi.BookingsPage](t, e.call(t, e.staff, "staff-event-bookings.json", "GET /staff/events/{id}/bookings", map[string]string{"id": ev.ID}, "", "", nil)).Items
	col := map[string]string{}
	for i, name := range rows[0] {
		col[name] = rows[1][i]
	}
	if col["organisation"] != `'=HYPERLINK("x")` || col["invoice_address"] != "'-1 Road" || col["email"] != jsonItems[0].Email || col["id"] != jsonItems[0].ID {
		t.Errorf("CSV row = %v; want neutralised formula cells and the JSON's data", col)
	}
}

func TestStaffCancelMailsEveryoneOnce(t *testing.T) {
	e := newEnv(t)
	ev := e.createEvent(t, map[string]any{"capacity": 2})
	for i := 1; i <= 3; i++ {
		if r := e.book(t, ev.ID, person(i, "free"), nil); r.StatusCode != 201 {
			t.Fatalf("book %d = %d %s", i, r.StatusCode, r.Body)
		}
	}
	for range 2 {
		r := e.call(t, e.staff, "staff-event-cancel.json", "POST /staff/events/{id}/cancel", map[string]string{"id": ev.ID}, "", "", nil)
		if r.StatusCode != 200 {
			t.Fatalf("cancel = %d %s", r.StatusCode, r.Body)
		}
	}
	if r := e.book(t, ev.ID, person(9, "free"), nil); r.StatusCode != 409 || decode[errorBody](t, r).Error.Code != "booking_closed" {
		t.Errorf("book a cancelled event = %d %s; want 409 booking_closed", r.StatusCode, r.Body)
	}
	e.clock.Set(e.clock.Now().Add(time.Minute))
	if _, err := mail.Sweep(context.Background(), e.store, e.reminders.Sender, mail.SweepOptions{Rate: 1000, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for _, m := range e.outbox.Messages() {
		if strings.HasPrefix(m.Subject, "Cancelled:") {
			cancelled++
		}
	}
	if cancelled != 3 {
		t.Errorf("event-cancelled mails = %d; want 3 (two confirmed, one waiting), however often staff cancel", cancelled)
	}
	if r := e.call(t, e.public, "event-get.json", "GET /events/{id}", map[string]string{"id": ev.ID}, "", "", nil); !strings.Contains(r.Body, `"availability":"cancelled"`) {
		t.Errorf("cancelled event = %s; want availability cancelled", r.Body)
	}
}

func TestDraftsAreNotPublic(t *testing.T) {
	e := newEnv(t)
	ev := e.createEvent(t, map[string]any{"status": "draft"})
	for _, r := range []httpapi.Response{
		e.call(t, e.public, "event-get.json", "GET /events/{id}", map[string]string{"id": ev.ID}, "", "", nil),
		e.call(t, e.public, "event-get.json", "GET /events/{id}", map[string]string{"id": "aaaaaaaaaaaaaaaaaaaaaaaaaa"}, "", "", nil),
		e.book(t, ev.ID, person(1, "free"), nil),
	} {
		if r.StatusCode != 404 {
			t.Errorf("draft or unknown = %d %s; want 404", r.StatusCode, r.Body)
		}
	}
	if p := decode[eventapi.ListPage](t, e.call(t, e.public, "events-list.json", "GET /events", nil, "", "", nil)); p.Total != 0 {
		t.Errorf("list with only a draft = %d events; want 0", p.Total)
	}
}

func TestReviewFixes(t *testing.T) {
	e := newEnv(t)
	ev := e.createEvent(t, map[string]any{"capacity": 1, "booking_closes_at": "2026-11-26T12:00:00Z"})
	key := map[string]string{"idempotency-key": "late-retry"}
	first := e.book(t, ev.ID, person(1, "free"), key)
	if w := e.book(t, ev.ID, person(2, "free"), nil); decode[eventapi.BookingResponse](t, w).Booking.Status != "waitlisted" {
		t.Fatalf("second booking = %s; want waitlisted", w.Body)
	}

	// More places go to the waiting list even when the same edit closes it to newcomers.
	r := e.call(t, e.staff, "staff-event-update.json", "PATCH /staff/events/{id}", map[string]string{"id": ev.ID}, "", `{"capacity":2,"waiting_list":false}`, nil)
	if got := decode[eventapi.StaffEvent](t, r); r.StatusCode != 200 || got.Confirmed != 2 || got.Waiting != 0 {
		t.Errorf("PATCH capacity 2, no waiting list = %d, confirmed %d waiting %d; want the waiting person promoted", r.StatusCode, got.Confirmed, got.Waiting)
	}

	// After booking closes, a retry of the first request (within the key's 24 hours) still gets
	// its first answer.
	e.clock.Set(time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC))
	again := e.book(t, ev.ID, person(1, "free"), key)
	if again.StatusCode != 201 || again.Body != first.Body {
		t.Errorf("retry after closing = %d %s; want the first 201 %s", again.StatusCode, again.Body, first.Body)
	}
	if r := e.book(t, ev.ID, person(3, "free"), nil); r.StatusCode != 409 || decode[errorBody](t, r).Error.Code != "booking_closed" {
		t.Errorf("new booking after closing = %d %s; want 409 booking_closed", r.StatusCode, r.Body)
	}

	// An event that has ended cannot be cancelled.
	e.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	if r := e.call(t, e.staff, "staff-event-cancel.json", "POST /staff/events/{id}/cancel", map[string]string{"id": ev.ID}, "", "", nil); r.StatusCode != 409 {
		t.Errorf("cancel an ended event = %d %s; want 409", r.StatusCode, r.Body)
	}
}

func TestCancelWithdrawsPendingReminder(t *testing.T) {
	e := newEnv(t)
	ev := e.createEvent(t, nil)
	b := decode[eventapi.BookingResponse](t, e.book(t, ev.ID, person(1, "free"), nil)).Booking
	token := e.tokenFor(t, "person1@example.org")

	// A reminder recorded but not sent yet (as in the minutes the reminders take to drain).
	full, _, err := e.store.EventByID(context.Background(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	booking, _, err := e.store.Booking(context.Background(), ev.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := eventmail.Renderer{From: "events@example.org", SiteURL: "https://www.example.org"}.Render("reminder", full, booking, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PutMail(context.Background(), m, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.call(t, e.public, "booking-delete.json", "DELETE /bookings/{token}", map[string]string{"token": token}, "", "", map[string]string{"accept": "application/json"})
	if _, ok, err := e.store.MailByID(context.Background(), m.ID); err != nil || ok {
		t.Errorf("reminder after the cancellation: recorded %v, %v; want withdrawn", ok, err)
	}
}
