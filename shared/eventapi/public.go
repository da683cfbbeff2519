// Package eventapi serves the events routes: the public ones of EventsFunction
//
//	GET    /events                        upcoming events, soonest first (ParseListQuery)
//	GET    /events/{id}                   one event with its tickets and description (ETag/304)
//	GET    /events/{id}/calendar.ics      the event as an iCalendar file
//	POST   /events/{id}/bookings          book a place (or a place on the waiting list)
//	GET    /bookings/{token}              the attendee's booking: an HTML page, or JSON on Accept: application/json
//	POST   /bookings/{token}/cancel       cancel it (the page's button); DELETE /bookings/{token} likewise
//
// and the staff ones of StaffEventsFunction (staff.go). Capacity, per-ticket limits, the
// waiting list and the email lock are enforced by the store with conditional writes; the
// handlers validate, call the store once, and send the mail the store recorded with the
// booking (package mail's outbox: if SES fails now, MailOutboxFunction sends it later).
package eventapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"sectorhub/shared/apperr"
	"sectorhub/shared/event"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/mail"
)

// Limits of public writes.
const (
	maxBookingBody    = 16 << 10 // bytes of a booking request
	maxIdempotencyKey = 255      // characters of an Idempotency-Key header
)

// Cache-Control of public reads: availability changes with every booking, so shared caches
// keep a response briefly and revalidate (ETag) after.
const (
	listCacheControl  = "public, max-age=30"
	eventCacheControl = "public, max-age=15"
)

// Store is what the public routes read and write.
type Store interface {
	EventByID(ctx context.Context, id string) (event.Event, bool, error)
	UpcomingEvents(ctx context.Context, now time.Time) ([]event.Event, error)
	Book(ctx context.Context, ev event.Event, b event.Booking, o event.BookOptions, now time.Time) (event.Booking, bool, error)
	BookingByToken(ctx context.Context, tokenHash string) (event.Booking, bool, error)
	CancelBooking(ctx context.Context, eventID, bookingID string, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) (event.CancelResult, error)
	WithdrawMails(ctx context.Context, ids []string) (int, error)
}

// Renderer renders a mail about a booking (eventmail.Renderer).
type Renderer interface {
	Render(kind string, ev event.Event, b event.Booking, now time.Time) (mail.Mail, error)
}

// Deps are the routes' dependencies.
type Deps struct {
	Store   Store
	Outbox  mail.Outbox
	Sender  mail.Sender
	Mail    Renderer
	SiteURL string // the website, for links in calendar files
	Now     func() time.Time
	Log     *slog.Logger
}

// API serves the public events routes.
type API struct{ Deps }

// New returns the public events routes on a router.
func New(d Deps) *httpapi.Router {
	if d.Now == nil {
		d.Now = time.Now
	}
	a := &API{d}
	r := httpapi.NewRouter(d.Log)
	r.Handle("GET /events", a.list)
	r.Handle("GET /events/{id}", a.get)
	r.Handle("GET /events/{id}/calendar.ics", a.calendar)
	r.Handle("POST /events/{id}/bookings", a.book)
	r.Handle("GET /bookings/{token}", a.showBooking)
	r.Handle("POST /bookings/{token}/cancel", a.cancelBooking)
	r.Handle("DELETE /bookings/{token}", a.cancelBooking)
	return r
}

// ListItem is an event in GET /events. Location never carries the joining URL.
type ListItem struct {
	ID             string         `json:"id"`
	Title          string         `json:"title"`
	Summary        string         `json:"summary"`
	Type           string         `json:"type"`
	StartsAt       time.Time      `json:"starts_at"`
	EndsAt         time.Time      `json:"ends_at"`
	Timezone       string         `json:"timezone"`
	Location       event.Location `json:"location"`
	PriceFromPence int            `json:"price_from_pence"`
	PriceFrom      string         `json:"price_from"`
	Availability   string         `json:"availability"`
	Themes         []string       `json:"themes"`
	Regions        []string       `json:"regions"`
}

// ListPage is the body of GET /events.
type ListPage struct {
	Total   int        `json:"total"`
	Page    int        `json:"page"`
	PerPage int        `json:"per_page"`
	Items   []ListItem `json:"items"`
}

// PublicTicket is a ticket as the public sees it.
type PublicTicket struct {
	ID           string `json:"id"`
	Label        string `json:"label"`
	PricePence   int    `json:"price_pence"`
	Price        string `json:"price"`
	MembersOnly  bool   `json:"members_only"`
	Availability string `json:"availability"`
}

// PublicEvent is the body of GET /events/{id}.
type PublicEvent struct {
	ListItem
	DescriptionHTML string         `json:"description_html"`
	BookingClosesAt time.Time      `json:"booking_closes_at"`
	WaitingList     bool           `json:"waiting_list"`
	Tickets         []PublicTicket `json:"tickets"`
}

func listItem(ev *event.Event, now time.Time) ListItem {
	loc := zone(ev.Timezone)
	pence, label := ev.PriceFrom()
	return ListItem{
		ID: ev.ID, Title: ev.Title, Summary: ev.Summary, Type: ev.Type,
		StartsAt: ev.StartsAt.In(loc), EndsAt: ev.EndsAt.In(loc), Timezone: ev.Timezone,
		Location:       ev.Location.Public(),
		PriceFromPence: pence, PriceFrom: label,
		Availability: ev.Availability(now),
		Themes:       nonNil(ev.Themes), Regions: nonNil(ev.Regions),
	}
}

func publicEvent(ev *event.Event, now time.Time) PublicEvent {
	p := PublicEvent{
		ListItem:        listItem(ev, now),
		DescriptionHTML: ev.DescriptionHTML,
		BookingClosesAt: ev.BookingClosesAt.In(zone(ev.Timezone)),
		WaitingList:     ev.WaitingList,
		Tickets:         make([]PublicTicket, 0, len(ev.Tickets)),
	}
	for _, t := range ev.Tickets {
		p.Tickets = append(p.Tickets, PublicTicket{
			ID: t.ID, Label: t.Label, PricePence: t.PricePence, Price: event.FormatPrice(t.PricePence),
			MembersOnly: t.MembersOnly, Availability: ev.TicketAvailability(t, now),
		})
	}
	return p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// zone returns the location named (validated when the event was saved), or UTC.
func zone(name string) *time.Location {
	if loc, err := event.LoadZone(name); err == nil {
		return loc
	}
	return time.UTC
}

// public reports whether the public may see ev: published, or cancelled after it was
// published (shown as cancelled). Drafts are 404.
func public(ev *event.Event) bool {
	return ev.Status == event.StatusPublished || ev.Status == event.StatusCancelled
}

func (a *API) list(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := ParseListQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	now := a.Now()
	events, err := a.Store.UpcomingEvents(ctx, now)
	if err != nil {
		return httpapi.Response{}, err
	}
	var matched []*event.Event
	for i := range events {
		ev := &events[i]
		if public(ev) && ev.EndsAt.After(now) && q.Matches(ev) {
			matched = append(matched, ev)
		}
	}
	slices.SortFunc(matched, func(x, y *event.Event) int {
		if c := x.StartsAt.Compare(y.StartsAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	page := ListPage{Total: len(matched), Page: q.Page, PerPage: q.PerPage, Items: []ListItem{}}
	start := min((q.Page-1)*q.PerPage, len(matched))
	for _, ev := range matched[start:min(start+q.PerPage, len(matched))] {
		page.Items = append(page.Items, listItem(ev, now))
	}
	return httpapi.CachedJSON(req, page, listCacheControl), nil
}

// publicEventByID returns the event the public may see, or a not-found error.
func (a *API) publicEventByID(ctx context.Context, id string) (event.Event, error) {
	notFound := apperr.Errorf(apperr.NotFound, "no event %s", quote(id))
	if !event.ValidID(id) {
		return event.Event{}, notFound
	}
	ev, ok, err := a.Store.EventByID(ctx, id)
	if err != nil {
		return event.Event{}, err
	}
	if !ok || !public(&ev) {
		return event.Event{}, notFound
	}
	return ev, nil
}

func (a *API) get(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	ev, err := a.publicEventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, publicEvent(&ev, a.Now()), eventCacheControl), nil
}

func (a *API) calendar(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	ev, err := a.publicEventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	method := "PUBLISH"
	if ev.Status == event.StatusCancelled {
		method = "CANCEL"
	}
	ics := event.Calendar(ev, event.CalendarOptions{SiteURL: a.SiteURL, Now: a.Now(), Method: method})
	return httpapi.Response{
		StatusCode: http.StatusOK,
		Headers: map[string]string{
			"Content-Type":           "text/calendar; charset=utf-8; method=" + method,
			"Content-Disposition":    `attachment; filename="event-` + ev.ID + `.ics"`,
			"Cache-Control":          eventCacheControl,
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(ics),
	}, nil
}

// BookingResponse is the body of a 201 from POST /events/{id}/bookings, and what a retry with
// the same Idempotency-Key gets again.
type BookingResponse struct {
	Booking BookingSummary `json:"booking"`
}

// BookingSummary is a booking as its maker sees it in the booking response.
type BookingSummary struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Position    int    `json:"position,omitempty"`
	EventID     string `json:"event_id"`
	Ticket      string `json:"ticket"`
	AmountPence int    `json:"amount_pence"`
}

func summary(b event.Booking) BookingSummary {
	return BookingSummary{ID: b.ID, Status: b.Status, Position: b.Position, EventID: b.EventID, Ticket: b.Ticket, AmountPence: b.AmountPence}
}

func (a *API) book(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	body, err := httpapi.JSONBody(req, maxBookingBody)
	if err != nil {
		return httpapi.Response{}, err
	}
	key, err := idempotencyKey(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	ev, err := a.publicEventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	now := a.Now()
	// Without an Idempotency-Key a closed event is refused here, before any write; with one,
	// the store decides, so that a retry of a booking made before closing gets its first answer.
	if key == "" && (ev.Status == event.StatusCancelled || !now.Before(ev.BookingClosesAt) || !now.Before(ev.EndsAt)) {
		return httpapi.Response{}, event.ErrBookingClosed
	}
	br, problems := event.ParseBooking(body, ev)
	if len(problems) > 0 {
		return httpapi.Response{}, apperr.Invalidf(problems)
	}
	id, err := event.NewID()
	if err != nil {
		return httpapi.Response{}, err
	}
	token, err := event.NewToken()
	if err != nil {
		return httpapi.Response{}, err
	}
	t, _ := ev.Ticket(br.Ticket) // ParseBooking checked it
	b := event.Booking{ID: id, EventID: ev.ID, AmountPence: t.PricePence, CreatedAt: now, Token: token, BookingRequest: br}
	reqHash := sha256.Sum256(body)
	opts := event.BookOptions{
		TokenHash:   event.TokenHash(token),
		RequestHash: hex.EncodeToString(reqHash[:]),
		Render: func(b event.Booking) (mail.Mail, error) {
			kind := event.MailConfirmation
			if b.Status == event.BookingWaitlisted {
				kind = event.MailWaitlisted
			}
			return a.Mail.Render(kind, ev, b, now)
		},
	}
	if key != "" {
		h := sha256.Sum256([]byte(key))
		opts.IdempotencyKey = hex.EncodeToString(h[:])
	}
	booked, replayed, err := a.Store.Book(ctx, ev, b, opts, now)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !replayed {
		kind := event.MailConfirmation
		if booked.Status == event.BookingWaitlisted {
			kind = event.MailWaitlisted
		}
		a.deliver(ctx, event.MailID(kind, booked.ID))
	}
	a.Log.InfoContext(ctx, "booking", "event", ev.ID, "booking", booked.ID, "status", booked.Status, "replayed", replayed)
	resp := httpapi.JSON(http.StatusCreated, BookingResponse{Booking: summary(booked)})
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// idempotencyKey returns the request's Idempotency-Key header: printable ASCII, at most 255
// characters; "" when none was sent.
func idempotencyKey(req httpapi.Request) (string, error) {
	k := httpapi.Header(req, "Idempotency-Key")
	if k == "" {
		return "", nil
	}
	if len(k) > maxIdempotencyKey || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", apperr.Errorf(apperr.Invalid, "Idempotency-Key must be 1 to %d printable ASCII characters without spaces (a UUID is ideal)", maxIdempotencyKey)
	}
	return k, nil
}

// deliver sends recorded mails now. A failure is not the request's: the mail stays in the
// outbox and MailOutboxFunction retries it; only its ID (no personal data) is logged.
func (a *API) deliver(ctx context.Context, ids ...string) {
	deliver(ctx, a.Log, a.Outbox, a.Sender, a.Now, ids)
}

// bookingByToken returns the booking a link's token names and its event, or a not-found error
// (also once the event has ended: the link stops working then).
func (a *API) bookingByToken(ctx context.Context, token string) (event.Booking, event.Event, error) {
	notFound := apperr.Errorf(apperr.NotFound, "this booking link is not valid, or has expired because the event has ended")
	if !event.ValidToken(token) {
		return event.Booking{}, event.Event{}, notFound
	}
	b, ok, err := a.Store.BookingByToken(ctx, event.TokenHash(token))
	if err != nil {
		return event.Booking{}, event.Event{}, err
	}
	if !ok {
		return event.Booking{}, event.Event{}, notFound
	}
	ev, ok, err := a.Store.EventByID(ctx, b.EventID)
	if err != nil {
		return event.Booking{}, event.Event{}, err
	}
	if !ok || !a.Now().Before(ev.EndsAt) {
		return event.Booking{}, event.Event{}, notFound
	}
	return b, ev, nil
}

// TokenBooking is the JSON of GET /bookings/{token}: enough for the attendee to recognise
// their booking, nothing more (no email, no invoice details).
type TokenBooking struct {
	Booking struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Position int    `json:"position,omitempty"`
		Name     string `json:"name"`
		Ticket   string `json:"ticket"`
		Event    struct {
			ID       string    `json:"id"`
			Title    string    `json:"title"`
			StartsAt time.Time `json:"starts_at"`
			EndsAt   time.Time `json:"ends_at"`
			Status   string    `json:"status"`
		} `json:"event"`
	} `json:"booking"`
}

func tokenBooking(b event.Booking, ev event.Event) TokenBooking {
	var tb TokenBooking
	tb.Booking.ID, tb.Booking.Status, tb.Booking.Position, tb.Booking.Name, tb.Booking.Ticket = b.ID, b.Status, b.Position, b.Name, b.Ticket
	if b.Status != event.BookingWaitlisted {
		tb.Booking.Position = 0
	}
	loc := zone(ev.Timezone)
	tb.Booking.Event.ID, tb.Booking.Event.Title, tb.Booking.Event.Status = ev.ID, ev.Title, ev.Status
	tb.Booking.Event.StartsAt, tb.Booking.Event.EndsAt = ev.StartsAt.In(loc), ev.EndsAt.In(loc)
	return tb
}

// wantsJSON reports whether the request asks for JSON rather than the HTML page.
func wantsJSON(req httpapi.Request) bool {
	return strings.Contains(strings.ToLower(httpapi.Header(req, "Accept")), "application/json")
}

func (a *API) showBooking(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	b, ev, err := a.bookingByToken(ctx, req.PathParameters["token"])
	if !wantsJSON(req) {
		if err != nil {
			return a.errorPage(ctx, err), nil
		}
		return bookingPage(b, ev, req.PathParameters["token"], false), nil
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusOK, tokenBooking(b, ev))
	privateHeaders(resp.Headers)
	return resp, nil
}

// cancelBooking serves the page's POST and DELETE: both cancel; cancelling twice answers
// as the first time.
func (a *API) cancelBooking(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	html := req.RequestContext.HTTP.Method == http.MethodPost && !wantsJSON(req)
	b, ev, err := a.bookingByToken(ctx, req.PathParameters["token"])
	if err == nil {
		b, err = a.cancel(ctx, b, ev)
	}
	if html {
		if err != nil {
			return a.errorPage(ctx, err), nil
		}
		return bookingPage(b, ev, req.PathParameters["token"], true), nil
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusOK, tokenBooking(b, ev))
	privateHeaders(resp.Headers)
	return resp, nil
}

func (a *API) cancel(ctx context.Context, b event.Booking, ev event.Event) (event.Booking, error) {
	now := a.Now()
	res, err := a.Store.CancelBooking(ctx, ev.ID, b.ID, now, func(kind string, b event.Booking) (mail.Mail, error) {
		return a.Mail.Render(kind, ev, b, now)
	})
	if err != nil {
		return event.Booking{}, err
	}
	if !res.AlreadyCancelled {
		// A mail about the place not sent yet (a reminder, which carries the joining link) goes
		// no further; one being sent or sent stays as it is.
		if _, err := a.Store.WithdrawMails(ctx, bookingMails(b.ID)); err != nil {
			a.Log.WarnContext(ctx, "pending mails not withdrawn", "booking", b.ID, "err", err.Error())
		}
	}
	a.deliver(ctx, res.MailIDs...)
	a.Log.InfoContext(ctx, "booking cancelled", "event", ev.ID, "booking", b.ID, "already", res.AlreadyCancelled, "promoted", len(res.Promoted))
	return res.Booking, nil
}

// privateHeaders are the headers of every response about one booking: never cached, never
// sent on as a referrer (the token is in the URL).
func privateHeaders(h map[string]string) {
	h["Cache-Control"] = "no-store"
	h["Referrer-Policy"] = "no-referrer"
	h["X-Robots-Tag"] = "noindex"
}

// errorPage is an error as a small HTML page, for the pages people reach from mail.
func (a *API) errorPage(ctx context.Context, err error) httpapi.Response {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		a.Log.ErrorContext(ctx, "request failed", "err", err.Error())
	}
	return messagePage(httpapi.Status(err), "Your booking", apperr.Message(err))
}

// bookingMails are the outbox IDs of the mails about a place that a cancellation makes wrong
// to send (WithdrawMails takes back those still pending).
func bookingMails(bookingID string) []string {
	kinds := []string{event.MailConfirmation, event.MailWaitlisted, event.MailPromoted, event.MailReminder}
	ids := make([]string, len(kinds))
	for i, k := range kinds {
		ids[i] = event.MailID(k, bookingID)
	}
	return ids
}
