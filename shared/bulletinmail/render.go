package bulletinmail

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/event"
	"sectorhub/shared/htmlsafe"
)

// content is one issue, said once and written three times: the mail's HTML part, its
// plain-text part and the archive page.
type content struct {
	Subject   string
	Preheader string
	Date      string // the issue's date, "Tuesday 1 December 2026"
	IssueURL  string // the archive page
	Host      string // the site's host name, for the footer

	Body     template.HTML // the issue's body: sanitised, styled, links absolute
	BodyText string        // the body as plain text

	Events    []eventItem
	EventsURL string
	Cases     []caseItem
	CasesURL  string

	// In the mail only (empty in the archive): a sentinel each, replaced by a placeholder.
	Greeting       string
	UnsubscribeURL string
}

type eventItem struct {
	Title, URL   string
	When         string // event.When in the event's own zone
	Place        string // "Online", or the venue and town
	Price        string // "Free", "From £95", "Free or from £95"
	Availability string // "Few places left", "Fully booked", ... or ""
}

type caseItem struct {
	Title, URL, Summary string
	Organisation        string // the organisation it is about, or ""
}

// maxLine bounds the subject and preheader as compose cleans them: ParseIssue has already
// checked that each is one line of at most 200 characters, so this only guards a stored
// issue written some other way (a control character in the subject would make mail.Build
// refuse every recipient's mail).
const maxLine = 1000

// compose gathers what the issue says (everything but the personal parts).
func (r Renderer) compose(iss bulletin.Issue, events []event.Event, cases []casestudy.Entry, now time.Time) content {
	site := r.site()
	date := now.In(london())
	if d, err := time.Parse(time.DateOnly, iss.ID); err == nil {
		date = d
	}
	c := content{
		Subject:   cleanLine(iss.Subject, maxLine),
		Preheader: cleanLine(iss.Preheader, maxLine),
		Date:      date.Format(event.DayLayout),
		IssueURL:  site + "/bulletin/issues/" + url.PathEscape(iss.ID),
		Host:      host(site),
		EventsURL: site + "/events",
		CasesURL:  site + "/case-studies",
	}
	body := htmlsafe.Sanitise(iss.HTML)
	c.Body = template.HTML(styleBody(body, site)) // sanitised above; styleBody adds only fixed attributes
	c.BodyText = bodyText(body, site)
	for _, ev := range events {
		c.Events = append(c.Events, eventItem{
			Title:        ev.Title,
			URL:          site + "/events/" + url.PathEscape(ev.ID),
			When:         when(ev),
			Place:        place(ev),
			Price:        price(ev.Tickets),
			Availability: availability(ev.Availability(now)),
		})
	}
	for _, e := range cases {
		it := caseItem{Title: e.Title, URL: site + "/case-studies/" + url.PathEscape(e.Slug), Summary: e.Summary.Summary}
		if e.Organisation != nil {
			it.Organisation = e.Organisation.Name
		}
		c.Cases = append(c.Cases, it)
	}
	return c
}

// sentinels stand for the placeholders while the templates run.
type sentinels struct{ nonce, greeting, unsubscribe string }

func newSentinels() sentinels {
	n := rand.Text() // 26 base32 characters: 130 random bits
	return sentinels{nonce: n, greeting: "bmg" + n, unsubscribe: "bmu" + n}
}

var errSentinelClash = errors.New("a placeholder's sentinel was found in the content")

// renderWith writes c's three forms, the mail's with s's sentinels, then makes the sentinels
// placeholders. Every NUL from content becomes U+FFFD first. Each mail part must hold each
// sentinel exactly once and the nonce nowhere else, and the archive not at all; otherwise
// content held the nonce (errSentinelClash).
func (r Renderer) renderWith(c content, s sentinels) (bulletin.Rendered, error) {
	archive, err := execute("archive", c)
	if err != nil {
		return bulletin.Rendered{}, err
	}
	c.Greeting, c.UnsubscribeURL = s.greeting, s.unsubscribe
	htmlPart, err := execute("mail", c)
	if err != nil {
		return bulletin.Rendered{}, err
	}
	textPart := renderText(c)
	if strings.Contains(archive, s.nonce) {
		return bulletin.Rendered{}, errSentinelClash
	}
	rd := bulletin.Rendered{ArchiveHTML: strings.ReplaceAll(archive, "\x00", "\uFFFD")}
	for _, p := range []struct {
		dst *string
		src string
	}{{&rd.HTML, htmlPart}, {&rd.Text, textPart}} {
		if strings.Count(p.src, s.nonce) != 2 || strings.Count(p.src, s.greeting) != 1 || strings.Count(p.src, s.unsubscribe) != 1 {
			return bulletin.Rendered{}, errSentinelClash
		}
		out := strings.ReplaceAll(p.src, "\x00", "\uFFFD")
		out = strings.Replace(out, s.greeting, markerGreeting, 1)
		*p.dst = strings.Replace(out, s.unsubscribe, markerUnsubscribe, 1)
	}
	return rd, nil
}

func execute(name string, c content) (string, error) {
	var buf bytes.Buffer
	if err := templates().ExecuteTemplate(&buf, name, c); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return buf.String(), nil
}

// Inline styles of the templates (mail clients drop style sheets).
const (
	styleText   = "font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;text-align:left;"
	styleH1     = "margin:0 0 24px;font-size:28px;line-height:1.25;font-weight:bold;color:#1a1a1a;"
	styleH2     = "margin:36px 0 12px;padding-top:12px;border-top:3px solid #1d4f91;font-size:22px;line-height:1.3;font-weight:bold;color:#1a1a1a;"
	styleH3     = "margin:20px 0 4px;font-size:18px;line-height:1.35;font-weight:bold;color:#1a1a1a;"
	styleP      = "margin:0 0 16px;"
	styleLink   = "color:#1d4f91;text-decoration:underline;"
	styleSmall  = "margin:0 0 8px;font-size:14px;color:#454545;"
	styleMeta   = "margin:0 0 16px;color:#454545;"
	styleHidden = "display:none!important;visibility:hidden;mso-hide:all;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;color:#ffffff;"
)

// preheaderFill follows the preheader in its hidden span, so that a mail client's preview
// shows the preheader alone rather than the text after it.
const preheaderFill = template.HTML("&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;&#8199;&#847;")

// templates are the bulletin mail's HTML part ("mail") and the archive page ("archive"),
// sharing their content ("content"), and the confirmation mail's ("confirm"): headings in order (h1 the subject, h2 the body's own top
// headings and each section, h3 each entry), links whose text says where they go, no
// images of our own. The mail keeps to 600 px with a presentation table for clients that
// ignore max-width. html/template escapes every value and refuses a URL that is not http(s)
// or relative in an href. They are parsed when the first issue is rendered, not when a
// function starts.
var templates = sync.OnceValue(func() *template.Template {
	t := template.New("").Funcs(template.FuncMap{
		"fill": func() template.HTML { return preheaderFill },
	})
	return template.Must(t.Parse(`
{{- define "mail" -}}
{{template "top" .}}
{{- with .Preheader}}
<span style="` + styleHidden + `">{{.}}{{fill}}</span>
{{- end}}
{{template "frame"}}
{{template "content" .}}
<hr style="margin:36px 0 16px;border:0;border-top:1px solid #b1b4b6;">
<p style="` + styleSmall + `">You are receiving Light Lunch, the weekly e-bulletin from {{.Host}}, because you subscribed to it.</p>
<p style="` + styleSmall + `"><a href="{{.UnsubscribeURL}}" style="` + styleLink + `">Unsubscribe from Light Lunch</a></p>
<p style="` + styleSmall + `"><a href="{{.IssueURL}}" style="` + styleLink + `">Read this issue on the web</a></p>
{{template "bottom"}}
{{end -}}

{{- define "confirm" -}}
{{template "top" .}}
{{template "frame"}}
<h1 style="` + styleH1 + `">Please confirm your subscription</h1>
<p style="` + styleP + `">{{.Greeting}}</p>
<p style="` + styleP + `">Someone, we hope you, asked to receive Light Lunch, the weekly e-bulletin from {{.Host}}, at this email address.</p>
<p style="` + styleP + `"><a href="{{.URL}}" style="display:inline-block;padding:12px 20px;background-color:#1d4f91;color:#ffffff;font-weight:bold;text-decoration:underline;border-radius:4px;">Yes, subscribe me to Light Lunch</a></p>
<p style="` + styleP + `">{{.Expires}}</p>
<p style="` + styleP + `">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all;">{{.URL}}</span></p>
<hr style="margin:36px 0 16px;border:0;border-top:1px solid #b1b4b6;">
<p style="` + styleSmall + `">If you did not ask for Light Lunch, you can ignore this email: you will not be subscribed, and we will not send you the bulletin.</p>
{{template "bottom"}}
{{end -}}

{{- /* A mail's head and opening body ("top"), its 600 px presentation table up to the
cell that holds the text ("frame"), and what closes them ("bottom"). */ -}}
{{- define "top" -}}
<!DOCTYPE html>
<html lang="en-GB" dir="ltr">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#ffffff;color:#1a1a1a;">
{{- end}}

{{- define "frame" -}}
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;">
<tr>
<td align="center" style="padding:24px 16px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;border-collapse:collapse;">
<tr>
<td style="` + styleText + `">
{{- end}}

{{- define "bottom" -}}
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
{{- end}}

{{- define "archive" -}}
<!DOCTYPE html>
<html lang="en-GB" dir="ltr">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{- with .Preheader}}
<meta name="description" content="{{.}}">
{{- end}}
<title>{{.Subject}} – Light Lunch</title>
</head>
<body style="margin:0;padding:0;background-color:#ffffff;color:#1a1a1a;">
<main style="max-width:600px;margin:0 auto;padding:24px 16px;` + styleText + `">
{{template "content" .}}
</main>
<footer style="max-width:600px;margin:0 auto;padding:0 16px 24px;` + styleText + `">
<hr style="margin:12px 0 16px;border:0;border-top:1px solid #b1b4b6;">
<p style="` + styleSmall + `">Light Lunch is the weekly e-bulletin from {{.Host}}. This is the issue as it was sent.</p>
</footer>
</body>
</html>
{{end -}}

{{- define "content" -}}
<p style="` + styleSmall + `">Light Lunch · {{.Date}}</p>
<h1 style="` + styleH1 + `">{{.Subject}}</h1>
{{- with .Greeting}}
<p style="` + styleP + `">{{.}}</p>
{{- end}}
{{.Body}}
<h2 style="` + styleH2 + `">Upcoming events</h2>
{{- range .Events}}
<h3 style="` + styleH3 + `"><a href="{{.URL}}" style="` + styleLink + `">{{.Title}}</a></h3>
<p style="` + styleMeta + `">{{.When}}<br>{{.Place}} · {{.Price}}{{with .Availability}} · {{.}}{{end}}</p>
{{- else}}
<p style="` + styleP + `">No events in the next eight weeks.</p>
{{- end}}
<p style="` + styleP + `"><a href="{{.EventsURL}}" style="` + styleLink + `">See all our events</a></p>
<h2 style="` + styleH2 + `">New case studies</h2>
{{- range .Cases}}
<h3 style="` + styleH3 + `"><a href="{{.URL}}" style="` + styleLink + `">{{.Title}}</a></h3>
<p style="` + styleMeta + `">{{.Summary}}{{with .Organisation}}<br>About {{.}}{{end}}</p>
{{- else}}
<p style="` + styleP + `">No new case studies since the last issue.</p>
{{- end}}
<p style="` + styleP + `"><a href="{{.CasesURL}}" style="` + styleLink + `">See all our case studies</a></p>
{{- end}}`))
})

// renderText is the plain-text part: the same content, headings underlined, each link's URL
// on a line of its own.
func renderText(c content) string {
	var b strings.Builder
	heading := func(s, rule string) {
		b.WriteString(s + "\n" + strings.Repeat(rule, max(3, utf8.RuneCountInString(s))) + "\n\n")
	}
	b.WriteString("Light Lunch · " + c.Date + "\n\n")
	heading(c.Subject, "=")
	b.WriteString(c.Greeting + "\n\n")
	if c.BodyText != "" {
		b.WriteString(c.BodyText + "\n\n")
	}
	heading("Upcoming events", "-")
	for _, e := range c.Events {
		b.WriteString(e.Title + "\n" + e.When + "\n" + e.Place + " · " + e.Price)
		if e.Availability != "" {
			b.WriteString(" · " + e.Availability)
		}
		b.WriteString("\n" + e.URL + "\n\n")
	}
	if len(c.Events) == 0 {
		b.WriteString("No events in the next eight weeks.\n\n")
	}
	b.WriteString("See all our events:\n" + c.EventsURL + "\n\n")
	heading("New case studies", "-")
	for _, e := range c.Cases {
		b.WriteString(e.Title + "\n" + e.Summary + "\n")
		if e.Organisation != "" {
			b.WriteString("About " + e.Organisation + "\n")
		}
		b.WriteString(e.URL + "\n\n")
	}
	if len(c.Cases) == 0 {
		b.WriteString("No new case studies since the last issue.\n\n")
	}
	b.WriteString("See all our case studies:\n" + c.CasesURL + "\n\n")
	b.WriteString("-- \nYou are receiving Light Lunch, the weekly e-bulletin from " + c.Host + ", because you subscribed to it.\n\n")
	b.WriteString("Unsubscribe from Light Lunch:\n" + c.UnsubscribeURL + "\n\n")
	b.WriteString("Read this issue on the web:\n" + c.IssueURL + "\n")
	return b.String()
}

// when is the event's date and time in its own zone, as its booking mails write it.
func when(ev event.Event) string {
	tz := ev.Timezone
	if tz == "" {
		tz = event.DefaultTimezone
	}
	loc, err := event.LoadZone(tz)
	if err != nil { // checked when staff wrote the event; never fail an issue over it
		loc, tz = time.UTC, "UTC"
	}
	return event.When(ev.StartsAt, ev.EndsAt, loc, tz)
}

// place is where an event is, in a few words: "Online", or the venue and the last line of
// its address (the town, as staff write addresses), else its regions; "Place to be
// confirmed" when it names none.
func place(ev event.Event) string {
	l := ev.Location
	if l.Online {
		return "Online"
	}
	var parts []string
	if v := strings.TrimSpace(l.Venue); v != "" {
		parts = append(parts, v)
	}
	lines := strings.Split(strings.TrimSpace(l.Address), "\n")
	if town := strings.TrimSpace(lines[len(lines)-1]); town != "" && (len(parts) == 0 || town != parts[0]) {
		parts = append(parts, town)
	}
	if len(parts) == 0 {
		for _, r := range casestudy.SortRegions(ev.Regions) {
			if label := casestudy.Regions.Label(r); label != "" { // an unknown slug is left out
				parts = append(parts, label)
			}
		}
	}
	if len(parts) == 0 {
		return "Place to be confirmed"
	}
	return cleanLine(strings.Join(parts, ", "), 400)
}

// price is what a place costs: "Free" when every ticket is free (or there are none), "From
// £95" with the lowest price, and "Free or from £95" when some tickets are free and others
// are not (the lowest price that is not free).
func price(tickets []event.Ticket) string {
	lowest, free := 0, false
	for _, t := range tickets {
		switch {
		case t.PricePence <= 0:
			free = true
		case lowest == 0 || t.PricePence < lowest:
			lowest = t.PricePence
		}
	}
	switch {
	case lowest == 0:
		return "Free"
	case free:
		return "Free or from " + event.FormatPrice(lowest)
	}
	return "From " + event.FormatPrice(lowest)
}

// availability is a note on an event's availability that a reader should know before
// clicking; "" while places are available.
func availability(a string) string {
	switch a {
	case event.FewLeft:
		return "Few places left"
	case event.WaitingList:
		return "Fully booked: waiting list open"
	case event.Full:
		return "Fully booked"
	case event.Closed:
		return "Booking closed"
	}
	return ""
}

// host is the site's host name for the footer ("example.org").
func host(site string) string {
	if u, err := url.Parse(site); err == nil && u.Host != "" {
		return u.Host
	}
	return site
}
