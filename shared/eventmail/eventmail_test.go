package eventmail

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"sectorhub/shared/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	siteURL    = "https://events.example.org"
	sender     = "Events <events@example.org>"
	joiningURL = "https://meet.example.net/j/8812?pwd=k3y&lang=en"
	token      = "q8Ww3mT2bJ7xY0vN4pLk9sRz6cHd1uFe5aGi8oQj2nM" // 43 characters, as event.NewToken makes
)

// fixture is an event with a booking on it, and what every mail about it must say.
type fixture struct {
	name    string
	ev      event.Event
	b       event.Booking
	date    string   // the date and time, as written in every mail
	where   []string // the location, each string in every mail
	price   string
	invoice []string // the invoice note's details, in a paid booking's confirmation
}

func fixtures(tb testing.TB) []fixture {
	tb.Helper()
	online := event.Event{
		ID:       "01jq5t2v8kx3m9d7c4b6a0zy1w",
		Title:    "Service user involvement managers' network",
		Type:     event.TypeNetworkMeeting,
		StartsAt: mustTime(tb, "2026-12-14T09:30:00Z"),
		EndsAt:   mustTime(tb, "2026-12-14T16:00:00Z"),
		Timezone: "Europe/London",
		Location: event.Location{Online: true, JoiningURL: joiningURL},
		Capacity: 50,
		Tickets: []event.Ticket{
			{ID: "member", Label: "Member place", PricePence: 9500},
			{ID: "non-member", Label: "Non-member place", PricePence: 12550},
		},
		Status:    event.StatusPublished,
		CreatedAt: mustTime(tb, "2026-09-01T10:00:00Z"),
		UpdatedAt: mustTime(tb, "2026-09-02T10:00:00Z"),
	}
	inPerson := event.Event{
		ID:        "01jq5t2v8kx3m9d7c4b6a0zy2x",
		Title:     "Co-production in practice: a two-day course",
		Type:      event.TypeTraining,
		StartsAt:  mustTime(tb, "2026-06-15T08:30:00Z"),
		EndsAt:    mustTime(tb, "2026-06-16T15:00:00Z"),
		Timezone:  "Europe/London",
		Location:  event.Location{Venue: "Friends House", Address: "173 Euston Road\nLondon", Postcode: "NW1 2BJ"},
		Capacity:  30,
		Tickets:   []event.Ticket{{ID: "standard", Label: "Standard place"}},
		Status:    event.StatusPublished,
		CreatedAt: mustTime(tb, "2026-03-01T10:00:00Z"),
		UpdatedAt: mustTime(tb, "2026-03-01T10:00:00Z"),
	}
	return []fixture{
		{
			name: "online-paid",
			ev:   online,
			b: event.Booking{
				ID: "01jq5t3a0b1c2d3e4f5g6h7j8k", EventID: online.ID, AmountPence: 9500, Token: token,
				BookingRequest: event.BookingRequest{
					Name: "Zoë Ångström-Ó Briain", Email: "zoe@example.com", Organisation: "Mind in Camden", Ticket: "member",
					Invoice: &event.Invoice{BillingEmail: "accounts@example.org", PurchaseOrder: "PO-4471", Address: "1 High Street, London"},
				},
			},
			date:    "Monday 14 December 2026, 09:30 to 16:00 (UK time)",
			where:   []string{"Online"},
			price:   "£95",
			invoice: []string{"accounts@example.org", "PO-4471", "invoice for £95"},
		},
		{
			name: "in-person-free",
			ev:   inPerson,
			b: event.Booking{
				ID: "01jq5t3a0b1c2d3e4f5g6h7j9m", EventID: inPerson.ID, Token: token,
				BookingRequest: event.BookingRequest{
					Name: "Siobhán Ní Bhriain", Email: "siobhan@example.com", Organisation: "Voices Together", Ticket: "standard",
				},
			},
			date:  "Monday 15 June 2026, 09:30 to Tuesday 16 June 2026, 16:00 (UK time)",
			where: []string{"Friends House", "173 Euston Road", "London", "NW1 2BJ"},
			price: "Free",
		},
	}
}

// kindCase is what a kind of mail carries.
type kindCase struct {
	kind     string
	subject  string // with %s for the event's title
	calendar string // the attached calendar's method; "" for no calendar
	joining  bool   // the joining link (online events): only for a confirmed attendee
	cancel   bool   // the cancel link
	ticket   bool   // ticket and price
	invoice  bool   // the invoice note (paid tickets)
	says     string // a phrase only this kind of mail says
}

var kinds = []kindCase{
	{event.MailConfirmation, "Booking confirmed: %s", "PUBLISH", true, true, true, true, "Your booking is confirmed"},
	{event.MailWaitlisted, "You're on the waiting list: %s", "", false, true, true, false, "You are number 3 on the waiting list"},
	{event.MailPromoted, "A place is yours: %s", "PUBLISH", true, true, true, true, "A place came free"},
	{event.MailCancelled, "Booking cancelled: %s", "", false, false, false, false, "we have cancelled your booking"},
	{event.MailEventCancelled, "Cancelled: %s", "CANCEL", false, false, false, false, "is cancelled"},
	{event.MailReminder, "Reminder: %s is tomorrow", "PUBLISH", true, true, true, false, "tell us by replying to this email"},
}

// eventFor is ev as it stands when the mail of kind is rendered: cancelled for the mail
// about its cancellation.
func eventFor(kind string, ev event.Event, now time.Time) event.Event {
	if kind == event.MailEventCancelled {
		ev.Status, ev.CancelledAt, ev.UpdatedAt = event.StatusCancelled, now, now
	}
	return ev
}

// bookingFor is b as it stands when the mail of kind is rendered.
func bookingFor(kind string, b event.Booking, now time.Time) event.Booking {
	b.Status, b.ConfirmedAt = event.BookingConfirmed, now.Add(-time.Hour)
	switch kind {
	case event.MailWaitlisted:
		b.Status, b.Position, b.ConfirmedAt = event.BookingWaitlisted, 3, time.Time{}
	case event.MailPromoted:
		b.Position = 3
	case event.MailCancelled:
		b.Status, b.CancelledAt = event.BookingCancelled, now
	}
	return b
}

func TestRender(t *testing.T) {
	r := Renderer{From: sender, SiteURL: siteURL}
	for _, f := range fixtures(t) {
		now := f.ev.StartsAt.Add(-24 * time.Hour)
		for _, k := range kinds {
			t.Run(k.kind+"/"+f.name, func(t *testing.T) {
				b := bookingFor(k.kind, f.b, now)
				m, err := r.Render(k.kind, eventFor(k.kind, f.ev, now), b, now)
				if err != nil {
					t.Fatalf("Render(%s): %v", k.kind, err)
				}
				if want := "event-" + k.kind + "-" + b.ID; m.ID != want {
					t.Errorf("ID = %q; want %q", m.ID, want)
				}
				if want := "event-" + k.kind; m.Kind != want {
					t.Errorf("Kind = %q; want %q", m.Kind, want)
				}
				if m.From != sender || len(m.To) != 1 || m.To[0] != b.Email {
					t.Errorf("From, To = %q, %q; want %q, [%q]", m.From, m.To, sender, b.Email)
				}
				if m.Stamp == nil || m.Stamp.PK != "EVENT#"+f.ev.ID || m.Stamp.SK != "B#"+b.ID || m.Stamp.Kind != k.kind {
					t.Errorf("Stamp = %+v; want {EVENT#%s B#%s %s}", m.Stamp, f.ev.ID, b.ID, k.kind)
				}

				p := parse(t, m.Raw)
				if want := fmt.Sprintf(k.subject, f.ev.Title); p.subject != want {
					t.Errorf("Subject = %q; want %q", p.subject, want)
				}
				if to := p.addresses(t, "To"); len(to) != 1 || to[0] != b.Email {
					t.Errorf("To header = %q; want [%q]", to, b.Email)
				}
				doc := readHTML(t, p.html)
				checkHTML(t, doc)

				// In both parts.
				must := append([]string{f.ev.Title, b.Name, f.date, k.says}, f.where...)
				if k.ticket {
					must = append(must, f.price)
				}
				if k.invoice {
					must = append(must, f.invoice...)
				}
				for _, s := range must {
					if !strings.Contains(p.text, s) {
						t.Errorf("text part lacks %q:\n%s", s, p.text)
					}
					if !strings.Contains(doc.text, s) {
						t.Errorf("HTML part lacks %q:\n%s", s, doc.text)
					}
				}
				eventURL := siteURL + "/events/" + f.ev.ID
				links := map[string]bool{eventURL: true}
				links[siteURL+"/bookings/"+token] = k.cancel
				links[joiningURL] = k.joining && f.ev.Location.Online
				for u, want := range links {
					if got := strings.Contains(p.text, u); got != want {
						t.Errorf("text part has %s: %v; want %v", u, got, want)
					}
					if got := doc.links[u]; got != want {
						t.Errorf("HTML part links to %s: %v; want %v", u, got, want)
					}
				}
				if !k.invoice {
					for _, s := range f.invoice {
						if strings.Contains(p.text, s) || strings.Contains(doc.text, s) {
							t.Errorf("mail has the invoice detail %q; want none in a %s mail", s, k.kind)
						}
					}
				}

				// The calendar file, and the joining link nowhere it is not allowed.
				var cals []attachment
				for _, a := range p.attachments {
					if a.filename == "event.ics" {
						cals = append(cals, a)
					}
				}
				if k.calendar == "" {
					if len(p.attachments) != 0 {
						t.Errorf("attachments = %d; want none", len(p.attachments))
					}
				} else if len(cals) != 1 || len(p.attachments) != 1 {
					t.Errorf("attachments = %d, event.ics %d; want one event.ics", len(p.attachments), len(cals))
				} else {
					c := cals[0]
					mt, params, err := mime.ParseMediaType(c.contentType)
					if err != nil || mt != "text/calendar" || params["method"] != k.calendar || !strings.EqualFold(params["charset"], "UTF-8") {
						t.Errorf("calendar Content-Type = %q; want text/calendar; method=%s; charset=UTF-8", c.contentType, k.calendar)
					}
					ics := unfold(c.data)
					if !strings.Contains(ics, "\nMETHOD:"+k.calendar+"\r\n") {
						t.Errorf("calendar lacks METHOD:%s:\n%s", k.calendar, ics)
					}
					if got, want := strings.Contains(ics, joiningURL), k.joining && f.ev.Location.Online; got != want {
						t.Errorf("calendar has the joining link: %v; want %v", got, want)
					}
				}
				if !k.joining {
					for where, s := range map[string]string{"raw message": string(m.Raw), "text part": p.text, "HTML part": p.html} {
						if strings.Contains(s, "meet.example.net") {
							t.Errorf("%s has the joining link; want it only in a confirmed attendee's mails", where)
						}
					}
				}
			})
		}
	}
}

// TestRenderEscapes checks that a title and a name are escaped in HTML, kept as they are
// in the text part and the subject, and that non-ASCII survives the round trip.
func TestRenderEscapes(t *testing.T) {
	f := fixtures(t)[0]
	f.ev.Title = `<script>alert("x")</script> & "Friends" Ünïcode`
	f.b.Name = "Zoë <b>Ångström</b>"
	r := Renderer{From: sender, SiteURL: siteURL}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			now := f.ev.StartsAt.Add(-24 * time.Hour)
			m, err := r.Render(k.kind, f.ev, bookingFor(k.kind, f.b, now), now)
			if err != nil {
				t.Fatalf("Render(%s): %v", k.kind, err)
			}
			p := parse(t, m.Raw)
			if want := fmt.Sprintf(k.subject, f.ev.Title); p.subject != want {
				t.Errorf("Subject = %q; want %q", p.subject, want)
			}
			for _, bad := range []string{"<script", "<b>", "</b>"} {
				if strings.Contains(p.html, bad) {
					t.Errorf("HTML part contains %q unescaped", bad)
				}
			}
			doc := readHTML(t, p.html)
			for _, s := range []string{f.ev.Title, f.b.Name} {
				if !strings.Contains(doc.text, s) {
					t.Errorf("HTML part's text lacks %q:\n%s", s, doc.text)
				}
				if !strings.Contains(p.text, s) {
					t.Errorf("text part lacks %q", s)
				}
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	f := fixtures(t)[0]
	r := Renderer{From: sender, SiteURL: siteURL}
	now := f.ev.StartsAt.Add(-24 * time.Hour)
	noEmail, noToken, otherEvent, badZone := f.b, f.b, f.b, f.ev
	noEmail.Email = ""
	noToken.Token = ""
	otherEvent.EventID = "01jq5t2v8kx3m9d7c4b6a0zzzz"
	badZone.Timezone = "Mars/Olympus_Mons"
	tests := []struct {
		name string
		kind string
		ev   event.Event
		b    event.Booking
	}{
		{"unknown kind", "invitation", f.ev, f.b},
		{"no email address", event.MailConfirmation, f.ev, noEmail},
		{"no token for the cancel link", event.MailConfirmation, f.ev, noToken},
		{"no token for leaving the waiting list", event.MailWaitlisted, f.ev, noToken},
		{"booking of another event", event.MailReminder, f.ev, otherEvent},
		{"unknown time zone", event.MailConfirmation, badZone, f.b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Render(tt.kind, tt.ev, tt.b, now)
			if err == nil {
				t.Fatalf("Render(%s) = nil error; want an error", tt.kind)
			}
			for _, personal := range []string{f.b.Name, f.b.Email, "Zo", "example.com", token, f.b.Invoice.BillingEmail} {
				if strings.Contains(err.Error(), personal) {
					t.Errorf("Render(%s) error %q contains personal data %q", tt.kind, err, personal)
				}
			}
		})
	}
}

// TestRenderNoTokenNeeded checks that mails without a cancel link render for a booking
// whose token is gone.
func TestRenderNoTokenNeeded(t *testing.T) {
	f := fixtures(t)[1]
	f.b.Token = ""
	r := Renderer{From: sender, SiteURL: siteURL}
	now := f.ev.StartsAt.Add(-24 * time.Hour)
	for _, kind := range []string{event.MailCancelled, event.MailEventCancelled} {
		if _, err := r.Render(kind, f.ev, bookingFor(kind, f.b, now), now); err != nil {
			t.Errorf("Render(%s) without a token: %v", kind, err)
		}
	}
}

// TestRenderWording checks the sentences that depend on the booking's state.
func TestRenderWording(t *testing.T) {
	fs := fixtures(t)
	paid, free := fs[0], fs[1]
	r := Renderer{From: sender, SiteURL: siteURL}
	now := paid.ev.StartsAt.Add(-24 * time.Hour)
	waiting := bookingFor(event.MailWaitlisted, paid.b, now)
	leftList := waiting
	leftList.Status = event.BookingCancelled
	noPO := paid.b
	noPO.Invoice = &event.Invoice{BillingEmail: "accounts@example.org", Address: "1 High Street"}
	sameDay := now.Add(20 * time.Hour) // 05:30 on the day
	tests := []struct {
		name      string
		kind      string
		f         fixture
		b         event.Booking
		now       time.Time
		want, not []string
	}{
		{"waiting list, paid ticket", event.MailWaitlisted, paid, waiting, now,
			[]string{"nothing to pay unless you get a place"}, nil},
		{"waiting list, free ticket", event.MailWaitlisted, free, bookingFor(event.MailWaitlisted, free.b, now), now,
			nil, []string{"pay"}},
		{"cancelled place", event.MailCancelled, paid, bookingFor(event.MailCancelled, paid.b, now), now,
			[]string{"cancelled your booking", "your place can now go to someone else"}, []string{"waiting list"}},
		{"left the waiting list", event.MailCancelled, paid, leftList, now,
			[]string{"You have left the waiting list", "taken you off the waiting list"}, []string{"your place can now go"}},
		{"event cancelled, paid place", event.MailEventCancelled, paid, paid.b, now,
			[]string{"We are sorry", "apologise", "not be invoiced", "refund", "Monday 14 December 2026", "removes the event from your calendar"}, nil},
		{"event cancelled, free place", event.MailEventCancelled, free, free.b, now,
			[]string{"We are sorry"}, []string{"invoice", "refund"}},
		{"event cancelled, on the waiting list", event.MailEventCancelled, paid, waiting, now,
			[]string{"You were on the waiting list"}, []string{"invoice", "refund"}},
		{"invoice without a purchase order", event.MailConfirmation, paid, noPO, now,
			[]string{"We will send an invoice for £95 to accounts@example.org."}, []string{"purchase order"}},
		{"invoice with a purchase order", event.MailConfirmation, paid, paid.b, now,
			[]string{"We will send an invoice for £95 to accounts@example.org (purchase order PO-4471)."}, nil},
		{"free confirmation", event.MailConfirmation, free, free.b, now,
			[]string{"Price: Free"}, []string{"invoice", "Joining online"}},
		{"reminder on the day", event.MailReminder, paid, paid.b, sameDay,
			[]string{"Your event is today"}, []string{"tomorrow"}},
		{"online event without its link yet", event.MailConfirmation, withoutJoiningURL(paid), paid.b, now,
			[]string{"We will email you the link to join the event before it starts"}, []string{"Join the event online"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := r.Render(tt.kind, tt.f.ev, tt.b, tt.now)
			if err != nil {
				t.Fatalf("Render(%s): %v", tt.kind, err)
			}
			p := parse(t, m.Raw)
			all := p.subject + "\n" + p.text
			doc := readHTML(t, p.html)
			for _, s := range tt.want {
				if !strings.Contains(all, s) || !strings.Contains(doc.text, s) {
					t.Errorf("%s mail lacks %q in one of its parts:\n%s", tt.kind, s, all)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(all, s) || strings.Contains(doc.text, s) {
					t.Errorf("%s mail says %q; want not:\n%s", tt.kind, s, all)
				}
			}
		})
	}
}

func withoutJoiningURL(f fixture) fixture {
	f.ev.Location.JoiningURL = ""
	return f
}

// TestGolden keeps two mails in testdata/ for people to read: go test -run TestGolden -update
// rewrites them after a change of wording.
func TestGolden(t *testing.T) {
	fs := fixtures(t)
	r := Renderer{From: sender, SiteURL: siteURL}
	tests := []struct {
		kind string
		f    fixture
	}{
		{event.MailConfirmation, fs[0]},
		{event.MailWaitlisted, fs[1]},
	}
	for _, tt := range tests {
		name := tt.kind + "-" + tt.f.name
		t.Run(name, func(t *testing.T) {
			now := tt.f.ev.StartsAt.Add(-24 * time.Hour)
			m, err := r.Render(tt.kind, tt.f.ev, bookingFor(tt.kind, tt.f.b, now), now)
			if err != nil {
				t.Fatalf("Render(%s): %v", tt.kind, err)
			}
			p := parse(t, m.Raw)
			golden(t, filepath.Join("testdata", name+".txt"), "Subject: "+p.subject+"\n\n"+p.text)
			golden(t, filepath.Join("testdata", name+".html"), p.html)
		})
	}
}

func golden(tb testing.TB, path, got string) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		tb.Errorf("%s differs from the rendered mail (go test -update rewrites it); got:\n%s", path, got)
	}
}

// htmlDoc is the HTML part as a reader meets it: its tree, its text (whitespace collapsed)
// and the targets of its links.
type htmlDoc struct {
	raw   string
	root  *html.Node
	text  string
	links map[string]bool
}

func readHTML(tb testing.TB, s string) htmlDoc {
	tb.Helper()
	root, err := html.Parse(strings.NewReader(s))
	if err != nil {
		tb.Fatalf("parse HTML part: %v", err)
	}
	d := htmlDoc{raw: s, root: root, links: map[string]bool{}}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "a":
				d.links[attr(n, "href")] = true
			case "body":
				d.text = strings.Join(strings.Fields(textOf(n)), " ")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return d
}

// checkHTML checks the HTML part's accessibility rules: English (UK), one h1, the event
// (and each section) under an h2, no images, scripts, forms or style sheets (inline styles
// only), a 600 px maximum width, and links whose text says where they go.
func checkHTML(tb testing.TB, d htmlDoc) {
	tb.Helper()
	count := map[string]int{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			count[n.Data]++
			if n.Data == "html" && attr(n, "lang") != "en-GB" {
				tb.Errorf(`<html lang=%q>; want "en-GB"`, attr(n, "lang"))
			}
			if attr(n, "class") != "" {
				tb.Errorf("<%s class=%q>: want inline styles only", n.Data, attr(n, "class"))
			}
			if n.Data == "a" {
				label := strings.TrimSpace(textOf(n))
				href := attr(n, "href")
				if !strings.HasPrefix(href, "https://") {
					tb.Errorf("link %q goes to %q; want an https URL", label, href)
				}
				if len(strings.Fields(label)) < 2 || strings.Contains(strings.ToLower(label), "click here") || strings.Contains(label, "://") {
					tb.Errorf("link text %q; want words that say where it goes", label)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	if count["h1"] != 1 || count["h2"] < 1 {
		tb.Errorf("headings: %d h1, %d h2; want one h1 and an h2 for the event (and for each section)", count["h1"], count["h2"])
	}
	for _, el := range []string{"img", "script", "style", "link", "iframe", "form"} {
		if count[el] != 0 {
			tb.Errorf("HTML part has %d <%s>; want none", count[el], el)
		}
	}
	if !strings.Contains(d.raw, "max-width:600px") {
		tb.Errorf("HTML part has no max-width:600px")
	}
}

// textOf is n's text, with a line break for each <br> and block element.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && n.Data == "br":
			b.WriteString("\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode && (n.Data == "p" || n.Data == "h1" || n.Data == "h2") {
			b.WriteString("\n")
		}
	}
	walk(n)
	return b.String()
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// parsed is a raw message read back as a mail client would.
type parsed struct {
	header      netmail.Header
	subject     string
	text, html  string
	attachments []attachment
}

type attachment struct {
	filename, contentType string
	data                  []byte
}

func (p parsed) addresses(tb testing.TB, field string) []string {
	tb.Helper()
	list, err := p.header.AddressList(field)
	if err != nil {
		tb.Fatalf("%s header: %v", field, err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

func parse(tb testing.TB, raw []byte) parsed {
	tb.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("read message: %v", err)
	}
	p := parsed{header: msg.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		tb.Fatalf("decode Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	p.walk(tb, msg.Body, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Header.Get("Content-Disposition"), 0)
	if p.text == "" || p.html == "" {
		tb.Fatalf("message has text part %v, HTML part %v; want both", p.text != "", p.html != "")
	}
	return p
}

func (p *parsed) walk(tb testing.TB, body io.Reader, contentType, encoding, disposition string, depth int) {
	tb.Helper()
	if depth > 4 {
		tb.Fatalf("MIME parts nested deeper than 4")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		tb.Fatalf("Content-Type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				tb.Fatalf("%s part: %v", mt, err)
			}
			h := part.Header
			p.walk(tb, part, h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), h.Get("Content-Disposition"), depth+1)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit":
	default:
		tb.Fatalf("Content-Transfer-Encoding %q", encoding)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		tb.Fatalf("read %s part: %v", mt, err)
	}
	if disp, dparams, err := mime.ParseMediaType(disposition); err == nil && disp == "attachment" {
		p.attachments = append(p.attachments, attachment{filename: dparams["filename"], contentType: contentType, data: data})
		return
	}
	if (mt == "text/plain" || mt == "text/html") && !strings.EqualFold(params["charset"], "UTF-8") {
		tb.Errorf("%s part charset %q; want UTF-8", mt, params["charset"])
	}
	switch mt {
	case "text/plain":
		p.text = strings.ReplaceAll(string(data), "\r\n", "\n")
	case "text/html":
		p.html = strings.ReplaceAll(string(data), "\r\n", "\n")
	default:
		tb.Errorf("unexpected %s part (not an attachment)", mt)
	}
}

// unfold undoes iCalendar line folding (RFC 5545 §3.1), and starts the text with a line
// break so that the first property can be matched as a whole line too.
var folded = regexp.MustCompile("\r\n[ \t]")

func unfold(ics []byte) string { return "\n" + folded.ReplaceAllString(string(ics), "") }
