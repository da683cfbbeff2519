package eventapi

import (
	"context"
	"log/slog"
	"time"

	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

// ReminderLead is how long before an event its reminder goes: EventRemindersFunction runs
// every hour, so each reminder goes between 23 and 24 hours before the start.
const ReminderLead = 24 * time.Hour

// ReminderStore is what the reminders read.
type ReminderStore interface {
	EventsStartingBetween(ctx context.Context, from, to time.Time) ([]event.Event, error)
	EventByID(ctx context.Context, id string) (event.Event, bool, error)
	Bookings(ctx context.Context, eventID string) ([]event.Booking, error)
}

// Reminders records and sends the reminder mails of events starting within ReminderLead.
type Reminders struct {
	Store  ReminderStore
	Outbox mail.Outbox
	Sender mail.Sender
	Mail   Renderer
	Rate   float64          // mails per second, at most
	Now    func() time.Time // the clock of the sends (time.Now when nil)
	Log    *slog.Logger
}

// ReminderReport counts what one run did.
type ReminderReport struct {
	Events   int // events starting within the lead time
	Recorded int // reminders recorded now (not before)
	mail.SweepReport
}

// Run reminds every confirmed attendee of every published event starting between now and
// now+ReminderLead, once: each reminder's outbox ID is fixed per booking
// (event.MailID(MailReminder, id)), so a second run, or a run fired twice, records nothing
// again. People confirmed less than ReminderLead before the start are not reminded: their
// confirmation came with everything a reminder says, hours ago. The recorded mails are then
// sent, paced to Rate, with whatever else is due in the outbox; what the run has no time for,
// MailOutboxFunction sends.
func (r *Reminders) Run(ctx context.Context, now time.Time) (ReminderReport, error) {
	var rep ReminderReport
	events, err := r.Store.EventsStartingBetween(ctx, now, now.Add(ReminderLead))
	if err != nil {
		return rep, err
	}
	for _, summary := range events {
		if summary.Status != event.StatusPublished {
			continue
		}
		rep.Events++
		// The listing item lacks the description and joining URL; the reminder needs the link.
		ev, ok, err := r.Store.EventByID(ctx, summary.ID)
		if err != nil {
			return rep, err
		}
		if !ok {
			continue
		}
		bookings, err := r.Store.Bookings(ctx, ev.ID)
		if err != nil {
			return rep, err
		}
		remindFrom := ev.StartsAt.Add(-ReminderLead)
		for _, b := range bookings {
			if b.Status != event.BookingConfirmed || !b.ConfirmedAt.Before(remindFrom) || !b.Mails[event.MailReminder].IsZero() {
				continue
			}
			m, err := r.Mail.Render(event.MailReminder, ev, b, now)
			if err != nil {
				return rep, err
			}
			created, err := r.Outbox.PutMail(ctx, m, now)
			if err != nil {
				return rep, err
			}
			if created {
				rep.Recorded++
			}
		}
	}
	clock := r.Now
	if clock == nil {
		clock = time.Now
	}
	sw, err := mail.Sweep(ctx, r.Outbox, r.Sender, mail.SweepOptions{Rate: r.Rate, Now: clock})
	rep.SweepReport = sw
	return rep, err
}
