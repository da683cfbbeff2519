package bulletinmail

import (
	"bytes"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/mail"
)

// ConfirmSubject is the subject of the confirmation mail.
const ConfirmSubject = "Please confirm your subscription to Light Lunch"

// confirmation is what the confirmation mail says, written twice (HTML and text).
type confirmation struct {
	Subject  string
	Greeting string
	Host     string
	URL      string // the confirmation link
	Expires  string // "The link works for 7 days, until ..."
}

// Confirmation returns the double opt-in mail to s: the link that confirms the subscription
// (SITE_URL + bulletin.ConfirmPath(bulletin.ConfirmToken(s)), the token query-escaped), how
// long it works (until s.ConfirmExpires when set, else bulletin.ConfirmValidity), and that
// someone who did not ask can ignore the mail and will not be subscribed. It has no
// List-Unsubscribe: it goes only on the person's own request, to an address not (yet) subscribed.
func (r Renderer) Confirmation(s bulletin.Subscriber) mail.Message {
	c := confirmation{
		Subject:  ConfirmSubject,
		Greeting: greeting(s.Name),
		Host:     host(r.site()),
		URL:      bulletin.SiteURL(r.site(), bulletin.ConfirmPath(url.QueryEscape(bulletin.ConfirmToken(s)))),
	}
	days := strconv.Itoa(int(bulletin.ConfirmValidity/(24*time.Hour))) + " days"
	c.Expires = "The link works for " + days + "."
	if !s.ConfirmExpires.IsZero() {
		c.Expires = "The link works for " + days + ", until " + s.ConfirmExpires.In(london()).Format("15:04 on Monday 2 January 2006") + " (UK time)."
	}
	text := confirmText(c)
	var buf bytes.Buffer
	h := ""
	if err := templates().ExecuteTemplate(&buf, "confirm", c); err == nil {
		h = buf.String()
	} else { // only a template bug fails, and the tests run it; the mail still goes
		h = "<!DOCTYPE html><html lang=\"en-GB\"><body><pre>" + template.HTMLEscapeString(text) + "</pre></body></html>"
	}
	return mail.Message{From: r.From, To: []string{s.Email}, Subject: c.Subject, Text: text, HTML: h}
}

func confirmText(c confirmation) string {
	var b strings.Builder
	const heading = "Please confirm your subscription"
	b.WriteString(heading + "\n" + strings.Repeat("=", len(heading)) + "\n\n")
	b.WriteString(c.Greeting + "\n\n")
	b.WriteString("Someone, we hope you, asked to receive Light Lunch, the weekly e-bulletin from " + c.Host + ", at this email address.\n\n")
	b.WriteString("To confirm that you want it, open this link:\n" + c.URL + "\n\n")
	b.WriteString(c.Expires + "\n\n")
	b.WriteString("If you did not ask for Light Lunch, you can ignore this email: you will not be subscribed, and we will not send you the bulletin.\n")
	return b.String()
}
