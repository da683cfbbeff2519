// Package eventmail renders every mail about a booking (confirmation, waiting list,
// promotion, cancellation by the attendee, cancellation of the event, reminder) into a
// mail.Mail ready for the outbox. Each mail has an HTML part that reads without images or
// CSS and a plain-text part with the same content, both built from one description of the
// mail (content) so that they cannot drift apart.
//
// The joining link of an online event goes only into the mails of a confirmed attendee
// (confirmation, promotion, reminder) and their calendar file; never into a waiting-list or
// cancellation mail.
package eventmail

import (
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"sectorhub/shared/config"
	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

// Renderer renders booking mails for one site.
type Renderer struct {
	From    string // the sender (SENDER_ADDRESS), e.g. "Events <events@example.org>"
	SiteURL string // the site's base URL (SITE_URL), without a trailing slash
}

// FromEnv returns the renderer a function's environment configures: SENDER_ADDRESS and
// SITE_URL (its trailing slash dropped), each recorded as missing in env when unset.
func FromEnv(env *config.Env) Renderer {
	return Renderer{From: env.Required("SENDER_ADDRESS"), SiteURL: strings.TrimRight(env.Required("SITE_URL"), "/")}
}

// Render renders the mail of kind (event.MailConfirmation, ...) about booking b at event ev,
// as of now (the Date header, the calendar's DTSTAMP, and "today" or "tomorrow" in a
// reminder). ev must be the whole event as staff wrote it (E#DETAIL): the listing summary has
// no joining URL, and a confirmation rendered from it would only promise the link for later.
// b's status decides some sentences: a booking that never had a place (waitlisted, or
// cancelled from the waiting list) is told it left the list rather than lost a place, and is
// not told about invoices.
//
// The result has the outbox ID event.MailID(kind, b.ID), so that recording it twice keeps
// one, and a Stamp that records its sending on the booking (mails.<kind>). Errors name the
// kind and the booking and event IDs, never personal data.
func (r Renderer) Render(kind string, ev event.Event, b event.Booking, now time.Time) (mail.Mail, error) {
	if b.Email == "" {
		return mail.Mail{}, fmt.Errorf("%s mail for booking %s: no email address", kind, b.ID)
	}
	if b.EventID != "" && b.EventID != ev.ID {
		return mail.Mail{}, fmt.Errorf("%s mail for booking %s: booking is for event %s, not %s", kind, b.ID, b.EventID, ev.ID)
	}
	c, method, err := r.compose(kind, ev, b, now)
	if err != nil {
		return mail.Mail{}, fmt.Errorf("%s mail for booking %s: %w", kind, b.ID, err)
	}
	html, err := renderHTML(c)
	if err != nil {
		return mail.Mail{}, fmt.Errorf("%s mail for booking %s: %w", kind, b.ID, err)
	}
	msg := mail.Message{
		From:    r.From,
		To:      []string{b.Email},
		Subject: c.Subject,
		Text:    renderText(c),
		HTML:    html,
	}
	if method != "" {
		msg.Attachments = []mail.Attachment{{
			Filename:    "event.ics",
			ContentType: "text/calendar; method=" + method + "; charset=UTF-8",
			Data: event.Calendar(ev, event.CalendarOptions{
				SiteURL:    r.siteURL(),
				Now:        now,
				Method:     method,
				JoiningURL: method == event.MethodPublish,
				Organizer:  r.senderAddress(),
			}),
		}}
	}
	raw, err := mail.Build(msg, now)
	if err != nil {
		return mail.Mail{}, fmt.Errorf("%s mail for booking %s: build: %w", kind, b.ID, err)
	}
	return mail.Mail{
		ID:    event.MailID(kind, b.ID),
		Kind:  "event-" + kind,
		From:  r.From,
		To:    []string{b.Email},
		Raw:   raw,
		Stamp: &mail.Stamp{PK: "EVENT#" + ev.ID, SK: "B#" + b.ID, Kind: kind},
	}, nil
}

func (r Renderer) siteURL() string { return strings.TrimRight(r.SiteURL, "/") }

// senderAddress is the address part of From, the calendar's ORGANIZER (RFC 5546 asks for
// one); "" when From does not parse (then Build refuses the mail anyway).
func (r Renderer) senderAddress() string {
	a, err := netmail.ParseAddress(r.From)
	if err != nil {
		return ""
	}
	return a.Address
}

// content is one mail, said once and rendered twice (renderHTML, renderText): a heading
// saying what happened, a greeting, the event's facts, a link to its page, then sections.
type content struct {
	Subject  string
	Heading  string // the h1: what this mail is about
	Greeting string // "Dear Zoë,"
	Intro    []para
	Title    string // the event's title, as the h2 over Facts
	Facts    []fact
	EventURL string
	Sections []section
	Footer   string
}

// fact is one labelled line (or lines, for an address) about the event.
type fact struct {
	Label string
	Lines []string
}

type section struct {
	Heading string
	Paras   []para
}

// para is a paragraph of text, or, when URL is set, a link whose text (Text) says where it
// goes; the plain-text part shows the URL under it.
type para struct {
	Text string
	URL  string
}

func text(s string) para        { return para{Text: s} }
func link(label, u string) para { return para{Text: label, URL: u} }
func paras(ss ...string) []para {
	ps := make([]para, len(ss))
	for i, s := range ss {
		ps[i] = text(s)
	}
	return ps
}

// compose writes the mail of kind, and says which calendar method to attach ("" for none).
func (r Renderer) compose(kind string, ev event.Event, b event.Booking, now time.Time) (content, string, error) {
	loc, err := location(ev.Timezone)
	if err != nil {
		return content{}, "", err
	}
	site := r.siteURL()
	var (
		title     = ev.Title
		date      = ev.StartsAt.In(loc).Format(event.DayLayout)
		cancelURL = site + "/bookings/" + url.PathEscape(b.Token)
		paid      = b.AmountPence > 0
		price     = event.FormatPrice(b.AmountPence)
		// waitlisted: the person never had a place (a promotion sets ConfirmedAt).
		waitlisted = b.Status == event.BookingWaitlisted || (b.Status != event.BookingConfirmed && b.ConfirmedAt.IsZero() && b.Position > 0)
	)
	c := content{
		Greeting: greeting(b.Name),
		Title:    title,
		Facts: []fact{
			{"When", []string{event.When(ev.StartsAt, ev.EndsAt, loc, ev.Timezone)}},
			{"Where", where(ev.Location)},
		},
		EventURL: site + "/events/" + url.PathEscape(ev.ID),
		Footer:   "This email is about your booking on " + host(site) + ". Its links are for you alone: please do not forward it.",
	}
	ticketFacts := []fact{{"Ticket", []string{ticketLabel(ev, b.Ticket)}}, {"Price", []string{price}}}

	needToken := kind == event.MailConfirmation || kind == event.MailPromoted || kind == event.MailWaitlisted || kind == event.MailReminder
	if needToken && b.Token == "" {
		return content{}, "", fmt.Errorf("no cancel token")
	}

	cancelSection := section{"If you can no longer come", []para{
		text("If you can no longer come, cancel your booking so that someone else can have your place."),
		link("Cancel your booking", cancelURL),
	}}
	calendarSection := section{"Add it to your calendar", paras(
		"The event is attached to this email as a calendar file (event.ics). Open it to add the event to your calendar.",
	)}

	switch kind {
	case event.MailConfirmation, event.MailPromoted:
		if kind == event.MailConfirmation {
			c.Subject = "Booking confirmed: " + title
			c.Heading = "Your booking is confirmed"
			c.Intro = paras("Thank you for booking a place at " + title + ". Your place is confirmed.")
		} else {
			c.Subject = "A place is yours: " + title
			c.Heading = "A place came free: your booking is confirmed"
			c.Intro = paras(
				"A place came free at "+title+" and, as you were next on the waiting list, it is now yours.",
				"Your booking is confirmed. You do not need to do anything else.",
			)
		}
		c.Facts = append(c.Facts, ticketFacts...)
		if ev.Location.Online {
			c.Sections = append(c.Sections, joiningSection(ev.Location.JoiningURL))
		}
		if paid {
			c.Sections = append(c.Sections, section{"Payment", paras(invoiceNote(price, b.Invoice))})
		}
		c.Sections = append(c.Sections, calendarSection, cancelSection)
		return c, event.MethodPublish, nil

	case event.MailWaitlisted:
		c.Subject = "You're on the waiting list: " + title
		c.Heading = "You are on the waiting list"
		c.Intro = paras(
			"There are no places left at "+title+" for the ticket you chose at the moment, so we have put you on the waiting list.",
			fmt.Sprintf("You are number %d on the waiting list.", b.Position),
		)
		c.Facts = append(c.Facts, ticketFacts...)
		next := []para{text("If a place comes free, it goes to the next person on the waiting list, in the order they joined. " +
			"When it is your turn, we will email you at once to say that your place is confirmed: you will not need to do anything else.")}
		if paid {
			next = append(next, text("There is nothing to pay unless you get a place. If you do, we will send the invoice then."))
		}
		c.Sections = append(c.Sections,
			section{"What happens next", next},
			section{"If you no longer want a place", []para{
				text("If you no longer want a place, leave the waiting list so that the next person can move up."),
				link("Leave the waiting list", cancelURL),
			}},
		)
		return c, "", nil

	case event.MailCancelled:
		c.Subject = "Booking cancelled: " + title
		if waitlisted {
			c.Heading = "You have left the waiting list"
			c.Intro = paras("As you asked, we have taken you off the waiting list for " + title + ".")
		} else {
			c.Heading = "Your booking is cancelled"
			c.Intro = paras("As you asked, we have cancelled your booking for " + title + ". Thank you for letting us know: your place can now go to someone else.")
		}
		c.Intro = append(c.Intro, text("If you change your mind, you can book again on the event page while places are available."))
		return c, "", nil

	case event.MailEventCancelled:
		c.Subject = "Cancelled: " + title
		c.Heading = "This event is cancelled"
		c.Intro = paras(
			"We are sorry to tell you that "+title+", on "+date+", is cancelled.",
			"We apologise for any inconvenience this causes you.",
		)
		switch {
		case waitlisted:
			c.Intro = append(c.Intro, text("You were on the waiting list, so there is nothing you need to do."))
		case paid:
			c.Intro = append(c.Intro, text("You will not be invoiced for your place. If you have already paid, we will refund you in full."))
		}
		c.Sections = append(c.Sections, section{"Your calendar", paras(
			"The calendar file attached to this email (event.ics) removes the event from your calendar if you added it.",
		)})
		return c, event.MethodCancel, nil

	case event.MailReminder:
		day := relativeDay(now, ev.StartsAt, loc)
		c.Subject = "Reminder: " + title + " is " + day
		c.Heading = "Your event is " + day
		c.Intro = paras("This is a reminder that " + title + ", which you booked, is " + day + ". We look forward to seeing you.")
		c.Facts = append(c.Facts, ticketFacts...)
		if ev.Location.Online {
			c.Sections = append(c.Sections, joiningSection(ev.Location.JoiningURL))
		}
		c.Sections = append(c.Sections,
			section{"Access needs", paras("If you have access needs that we do not know about yet, please tell us by replying to this email, so that we can make arrangements before the event.")},
			calendarSection,
			cancelSection,
		)
		return c, event.MethodPublish, nil
	}
	return content{}, "", fmt.Errorf("unknown kind of mail")
}

func greeting(name string) string {
	if name = strings.TrimSpace(name); name == "" {
		return "Hello,"
	}
	return "Dear " + name + ","
}

// where is the location as lines: "Online", or the venue, the address (one line per line
// staff wrote) and the postcode.
func where(l event.Location) []string {
	if l.Online {
		return []string{"Online"}
	}
	var lines []string
	for _, s := range append([]string{l.Venue}, append(strings.Split(l.Address, "\n"), l.Postcode)...) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return []string{"To be confirmed"}
	}
	return lines
}

// joiningSection carries an online event's joining link to a confirmed attendee.
func joiningSection(joiningURL string) section {
	if joiningURL == "" {
		return section{"Joining online", paras("We will email you the link to join the event before it starts.")}
	}
	return section{"Joining online", []para{
		text("Use this link to join the event on the day. It is for you alone: please do not share it."),
		link("Join the event online", joiningURL),
	}}
}

func invoiceNote(price string, inv *event.Invoice) string {
	if inv == nil || strings.TrimSpace(inv.BillingEmail) == "" {
		return "We will send you an invoice for " + price + "."
	}
	note := "We will send an invoice for " + price + " to " + inv.BillingEmail
	if po := strings.TrimSpace(inv.PurchaseOrder); po != "" {
		note += " (purchase order " + po + ")"
	}
	return note + "."
}

// ticketLabel is the label of the booked ticket; its ID if the event no longer has it (a
// mail about a booking is still sent).
func ticketLabel(ev event.Event, id string) string {
	if t, ok := ev.Ticket(id); ok && t.Label != "" {
		return t.Label
	}
	return id
}

// host is the site's host name for the footer ("example.org").
func host(site string) string {
	if u, err := url.Parse(site); err == nil && u.Host != "" {
		return u.Host
	}
	return site
}
