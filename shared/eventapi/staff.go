package eventapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sectorhub/shared/apperr"
	"sectorhub/shared/event"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/mail"
)

// The staff routes of StaffEventsFunction, behind the JWT authorizer:
//
//	POST  /staff/events                      create an event (201)
//	GET   /staff/events                      every event, drafts and past ones included, newest first (?limit=&cursor=)
//	GET   /staff/events/{id}                 one event as staff see it (with the joining URL and counts)
//	PATCH /staff/events/{id}                 change some fields
//	POST  /staff/events/{id}/cancel          cancel it: bookings close, every attendee is emailed once
//	GET   /staff/events/{id}/bookings        its bookings as JSON, or ?format=csv for a spreadsheet

// eventReminderWindow is how long before its start an event may have reminders waiting in
// the outbox: ReminderLead, and an hour for the run that records them.
const eventReminderWindow = ReminderLead + time.Hour

// maxEventBody bounds a staff event body: a 20,000-byte description, escaped, and the rest.
const maxEventBody = 64 << 10

// StaffStore is what the staff routes read and write.
type StaffStore interface {
	CreateEvent(ctx context.Context, ev event.Event) error
	EventByID(ctx context.Context, id string) (event.Event, bool, error)
	UpdateEvent(ctx context.Context, old, updated event.Event) error
	CancelEvent(ctx context.Context, id string, now time.Time) (event.Event, bool, error)
	StaffEvents(ctx context.Context, limit int, cursor string) ([]event.Event, string, error)
	Bookings(ctx context.Context, eventID string) ([]event.Booking, error)
	Promote(ctx context.Context, eventID string, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) ([]event.Booking, []string, error)
	CancelEventMails(ctx context.Context, eventID string, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) ([]string, error)
	WithdrawMails(ctx context.Context, ids []string) (int, error)
}

// StaffDeps are the staff routes' dependencies. RenderMarkdown renders and sanitises an event's
// description (casestudy/markdown.Render, as case studies are); it is passed in so that the
// public function does not link the Markdown renderer.
type StaffDeps struct {
	Store          StaffStore
	Outbox         mail.Outbox
	Sender         mail.Sender
	Mail           Renderer
	RenderMarkdown func([]byte) (string, error)
	Now            func() time.Time
	Log            *slog.Logger
}

type staffAPI struct{ StaffDeps }

// NewStaff returns the staff events routes on a router.
func NewStaff(d StaffDeps) *httpapi.Router {
	if d.Now == nil {
		d.Now = time.Now
	}
	a := &staffAPI{d}
	r := httpapi.NewRouter(d.Log)
	r.Handle("POST /staff/events", a.create)
	r.Handle("GET /staff/events", a.list)
	r.Handle("GET /staff/events/{id}", a.get)
	r.Handle("PATCH /staff/events/{id}", a.patch)
	r.Handle("POST /staff/events/{id}/cancel", a.cancel)
	r.Handle("GET /staff/events/{id}/bookings", a.bookings)
	return r
}

// StaffEvent is an event as staff see it: everything, in its own time zone.
type StaffEvent struct {
	event.Event
	PriceFrom    string `json:"price_from"`
	Availability string `json:"availability"`
}

func (a *staffAPI) staffEvent(ev event.Event) StaffEvent {
	loc := zone(ev.Timezone)
	ev.StartsAt, ev.EndsAt, ev.BookingClosesAt = ev.StartsAt.In(loc), ev.EndsAt.In(loc), ev.BookingClosesAt.In(loc)
	if ev.TicketConfirmed == nil {
		ev.TicketConfirmed = map[string]int{}
	}
	_, label := ev.PriceFrom()
	return StaffEvent{Event: ev, PriceFrom: label, Availability: ev.Availability(a.Now())}
}

func (a *staffAPI) render(ev *event.Event) error {
	if ev.Description == "" {
		ev.DescriptionHTML = ""
		return nil
	}
	h, err := a.RenderMarkdown([]byte(ev.Description))
	if err != nil {
		return apperr.Errorf(apperr.Invalid, "description: the Markdown could not be rendered")
	}
	ev.DescriptionHTML = h
	return nil
}

func (a *staffAPI) create(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	body, err := httpapi.JSONBody(req, maxEventBody)
	if err != nil {
		return httpapi.Response{}, err
	}
	now := a.Now()
	ev, problems := event.ParseEvent(body, now)
	if len(problems) > 0 {
		return httpapi.Response{}, apperr.Invalidf(problems)
	}
	if ev.ID, err = event.NewID(); err != nil {
		return httpapi.Response{}, err
	}
	if err := a.render(&ev); err != nil {
		return httpapi.Response{}, err
	}
	ev.CreatedAt, ev.UpdatedAt = now, now
	if err := a.Store.CreateEvent(ctx, ev); err != nil {
		return httpapi.Response{}, err
	}
	a.Log.InfoContext(ctx, "event created", "event", ev.ID, "status", ev.Status)
	resp := httpapi.PrivateJSON(http.StatusCreated, a.staffEvent(ev))
	resp.Headers["Location"] = "/staff/events/" + ev.ID
	return resp, nil
}

// StaffEventsPage is the body of GET /staff/events.
type StaffEventsPage struct {
	Items      []StaffEvent `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

func (a *staffAPI) list(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	limit, cursor, err := httpapi.LimitCursor(req, "GET /staff/events")
	if err != nil {
		return httpapi.Response{}, err
	}
	events, next, err := a.Store.StaffEvents(ctx, limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	page := StaffEventsPage{Items: make([]StaffEvent, 0, len(events)), NextCursor: next}
	for _, ev := range events {
		page.Items = append(page.Items, a.staffEvent(ev))
	}
	return httpapi.PrivateJSON(http.StatusOK, page), nil
}

func (a *staffAPI) eventByID(ctx context.Context, id string) (event.Event, error) {
	notFound := apperr.Errorf(apperr.NotFound, "no event %s", quote(id))
	if !event.ValidID(id) {
		return event.Event{}, notFound
	}
	ev, ok, err := a.Store.EventByID(ctx, id)
	if err != nil {
		return event.Event{}, err
	}
	if !ok {
		return event.Event{}, notFound
	}
	return ev, nil
}

func (a *staffAPI) get(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	ev, err := a.eventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.PrivateJSON(http.StatusOK, a.staffEvent(ev)), nil
}

func (a *staffAPI) patch(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	body, err := httpapi.JSONBody(req, maxEventBody)
	if err != nil {
		return httpapi.Response{}, err
	}
	old, err := a.eventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	if old.Status == event.StatusCancelled {
		return httpapi.Response{}, apperr.Errorf(apperr.Conflict, "the event is cancelled and can no longer be changed")
	}
	now := a.Now()
	updated, problems := event.PatchEvent(old, body, now)
	if len(problems) > 0 {
		return httpapi.Response{}, apperr.Invalidf(problems)
	}
	if msg := event.PatchConflict(old, updated); msg != "" {
		return httpapi.Response{}, apperr.Errorf(apperr.Conflict, "%s", msg)
	}
	if updated.Description != old.Description {
		if err := a.render(&updated); err != nil {
			return httpapi.Response{}, err
		}
	}
	updated.UpdatedAt = now
	if err := a.Store.UpdateEvent(ctx, old, updated); err != nil {
		if apperr.Code(err) != apperr.Conflict {
			return httpapi.Response{}, err
		}
		// A booking or another edit landed since the read: say which, if it is a booking.
		if fresh, ok, rerr := a.Store.EventByID(ctx, old.ID); rerr == nil && ok {
			if msg := event.PatchConflict(fresh, updated); msg != "" {
				return httpapi.Response{}, apperr.Errorf(apperr.Conflict, "%s", msg)
			}
		}
		return httpapi.Response{}, apperr.Errorf(apperr.Conflict, "the event changed while you were editing it (another edit or a booking); read it again and retry")
	}
	a.Log.InfoContext(ctx, "event updated", "event", updated.ID, "status", updated.Status)
	if updated.Status == event.StatusPublished && updated.Waiting > 0 {
		// More places (a higher capacity or ticket limit) go to the waiting list first, even
		// when the edit also closed the list to newcomers.
		render := func(kind string, b event.Booking) (mail.Mail, error) { return a.Mail.Render(kind, updated, b, now) }
		promoted, ids, err := a.Store.Promote(ctx, updated.ID, now, render)
		if err != nil {
			return httpapi.Response{}, err
		}
		deliver(ctx, a.Log, a.Outbox, a.Sender, a.Now, ids)
		if len(promoted) > 0 {
			a.Log.InfoContext(ctx, "promoted from the waiting list", "event", updated.ID, "promoted", len(promoted))
		}
	}
	fresh, err := a.eventByID(ctx, updated.ID)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.PrivateJSON(http.StatusOK, a.staffEvent(fresh)), nil
}

// CancelResponse is the body of POST /staff/events/{id}/cancel.
type CancelResponse struct {
	Event StaffEvent `json:"event"`
	// MailsQueued is how many attendees' mails this call recorded; they are sent by the outbox
	// within a minute. A repeated cancel records none for attendees already mailed.
	MailsQueued int `json:"mails_queued"`
}

func (a *staffAPI) cancel(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	old, err := a.eventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	now := a.Now()
	if old.Status == event.StatusDraft {
		return httpapi.Response{}, apperr.Errorf(apperr.Conflict, "a draft has no bookings to cancel; change it instead")
	}
	if old.Status != event.StatusCancelled && !now.Before(old.EndsAt) {
		return httpapi.Response{}, apperr.Errorf(apperr.Conflict, "the event has already ended; there is nothing left to cancel")
	}
	ev, changed, err := a.Store.CancelEvent(ctx, old.ID, now)
	if err != nil {
		return httpapi.Response{}, err
	}
	// Reminders are recorded in the 24 hours before the start: take back those not sent yet.
	if now.After(ev.StartsAt.Add(-eventReminderWindow)) {
		bookings, err := a.Store.Bookings(ctx, ev.ID)
		if err != nil {
			return httpapi.Response{}, err
		}
		ids := make([]string, 0, len(bookings))
		for _, b := range bookings {
			ids = append(ids, event.MailID(event.MailReminder, b.ID))
		}
		if _, err := a.Store.WithdrawMails(ctx, ids); err != nil {
			return httpapi.Response{}, err
		}
	}
	// Recorded on every call, not only the first: a cancel that failed half-way mails the rest
	// when retried, and those already recorded (or sent) are not recorded again.
	ids, err := a.Store.CancelEventMails(ctx, ev.ID, now, func(kind string, b event.Booking) (mail.Mail, error) {
		return a.Mail.Render(kind, ev, b, now)
	})
	if err != nil {
		return httpapi.Response{}, err
	}
	a.Log.InfoContext(ctx, "event cancelled", "event", ev.ID, "changed", changed, "mails", len(ids))
	return httpapi.PrivateJSON(http.StatusOK, CancelResponse{Event: a.staffEvent(ev), MailsQueued: len(ids)}), nil
}

// StaffBooking is one row of the bookings export: the JSON items and the CSV rows carry the
// same fields, in this order (bookingColumns).
type StaffBooking struct {
	ID                   string `json:"id"`
	Status               string `json:"status"`
	Position             int    `json:"position"`
	CreatedAt            string `json:"created_at"`
	ConfirmedAt          string `json:"confirmed_at"`
	CancelledAt          string `json:"cancelled_at"`
	Name                 string `json:"name"`
	Email                string `json:"email"`
	Organisation         string `json:"organisation"`
	JobTitle             string `json:"job_title"`
	Ticket               string `json:"ticket"`
	TicketLabel          string `json:"ticket_label"`
	AmountPence          int    `json:"amount_pence"`
	Amount               string `json:"amount"`
	AccessNeeds          string `json:"access_needs"`
	Dietary              string `json:"dietary"`
	InvoiceBillingEmail  string `json:"invoice_billing_email"`
	InvoicePurchaseOrder string `json:"invoice_purchase_order"`
	InvoiceAddress       string `json:"invoice_address"`
	ConfirmationSentAt   string `json:"confirmation_sent_at"`
}

// bookingColumns are the CSV header, in StaffBooking's order.
var bookingColumns = []string{"id", "status", "position", "created_at", "confirmed_at", "cancelled_at", "name", "email", "organisation", "job_title", "ticket", "ticket_label", "amount_pence", "amount", "access_needs", "dietary", "invoice_billing_email", "invoice_purchase_order", "invoice_address", "confirmation_sent_at"}

func (s StaffBooking) row() []string {
	return []string{s.ID, s.Status, strconv.Itoa(s.Position), s.CreatedAt, s.ConfirmedAt, s.CancelledAt, s.Name, s.Email, s.Organisation, s.JobTitle, s.Ticket, s.TicketLabel, strconv.Itoa(s.AmountPence), s.Amount, s.AccessNeeds, s.Dietary, s.InvoiceBillingEmail, s.InvoicePurchaseOrder, s.InvoiceAddress, s.ConfirmationSentAt}
}

func timeText(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

func staffBooking(ev *event.Event, b event.Booking) StaffBooking {
	loc := zone(ev.Timezone)
	s := StaffBooking{
		ID: b.ID, Status: b.Status, Position: b.Position,
		CreatedAt: timeText(b.CreatedAt, loc), ConfirmedAt: timeText(b.ConfirmedAt, loc), CancelledAt: timeText(b.CancelledAt, loc),
		Name: b.Name, Email: b.Email, Organisation: b.Organisation, JobTitle: b.JobTitle,
		Ticket: b.Ticket, AmountPence: b.AmountPence, Amount: event.FormatPrice(b.AmountPence),
		AccessNeeds: b.AccessNeeds, Dietary: b.Dietary,
	}
	if t, ok := ev.Ticket(b.Ticket); ok {
		s.TicketLabel = t.Label
	}
	if b.Invoice != nil {
		s.InvoiceBillingEmail, s.InvoicePurchaseOrder, s.InvoiceAddress = b.Invoice.BillingEmail, b.Invoice.PurchaseOrder, b.Invoice.Address
	}
	sent := b.Mails[event.MailConfirmation]
	if p := b.Mails[event.MailPromoted]; sent.IsZero() {
		sent = p
	}
	s.ConfirmationSentAt = timeText(sent, loc)
	return s
}

// BookingsPage is the JSON body of GET /staff/events/{id}/bookings.
type BookingsPage struct {
	EventID string         `json:"event_id"`
	Items   []StaffBooking `json:"items"`
}

func (a *staffAPI) bookings(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	format := "json"
	for key, vals := range params {
		switch key {
		case "format":
			if len(vals) != 1 || (vals[0] != "json" && vals[0] != "csv") {
				return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "format must be json or csv")
			}
			format = vals[0]
		default:
			return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "unknown parameter %s; this route takes format=json or format=csv", quote(key))
		}
	}
	ev, err := a.eventByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	all, err := a.Store.Bookings(ctx, ev.ID)
	if err != nil {
		return httpapi.Response{}, err
	}
	page := BookingsPage{EventID: ev.ID, Items: make([]StaffBooking, 0, len(all))}
	for _, b := range all {
		page.Items = append(page.Items, staffBooking(&ev, b))
	}
	if format == "json" {
		return httpapi.PrivateJSON(http.StatusOK, page), nil
	}
	body, err := bookingsCSV(page.Items)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{
		StatusCode: http.StatusOK,
		Headers: map[string]string{
			"Content-Type":           "text/csv; charset=utf-8",
			"Content-Disposition":    `attachment; filename="bookings-` + ev.ID + `.csv"`,
			"Cache-Control":          "private, no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: body,
	}, nil
}

// bookingsCSV writes the export: a UTF-8 byte-order mark (so that Excel reads the accents),
// the header, then one row per booking, every cell neutralised (Neutralise).
func bookingsCSV(items []StaffBooking) (string, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(bookingColumns); err != nil {
		return "", err
	}
	for _, it := range items {
		row := it.row()
		for i := range row {
			row[i] = Neutralise(row[i])
		}
		if err := w.Write(row); err != nil {
			return "", err
		}
	}
	w.Flush()
	return buf.String(), w.Error()
}

// Neutralise makes a CSV cell safe to open in a spreadsheet: a cell starting with =, +, -, @,
// a tab or a carriage return would be read as a formula (CSV injection), so it gets a leading
// apostrophe, which spreadsheets show as text. Other cells are unchanged.
func Neutralise(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// deliver sends recorded mails now, one after another; a failure leaves a mail to the
// outbox's sweeper, logged by its ID only.
func deliver(ctx context.Context, log *slog.Logger, ob mail.Outbox, s mail.Sender, now func() time.Time, ids []string) {
	for _, id := range ids {
		if err := mail.Deliver(ctx, ob, s, id, now()); err != nil {
			log.WarnContext(ctx, "mail not sent now; the outbox will retry", "mail", id, "err", err.Error())
		}
	}
}
