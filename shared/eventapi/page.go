package eventapi

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"sectorhub/shared/event"
	"sectorhub/shared/httpapi"
)

// The pages people reach from a booking mail: small, accessible HTML (one heading, a plain
// form, no script, readable without the style sheet), sent with headers that keep the token
// in the URL to this page: no caching, no referrer, no framing, nothing loaded from elsewhere.
// The template is parsed on first use, not when the function starts.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;font-size:1.125rem;line-height:1.5;color:#1b1b1b;background:#fff;max-width:40rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.75rem;line-height:1.2}
dt{font-weight:bold}dd{margin:0 0 .75rem 0}
button{font:inherit;padding:.6rem 1.2rem;border:2px solid #8a1c1c;background:#8a1c1c;color:#fff;border-radius:4px;cursor:pointer}
button:focus{outline:3px solid #ffbf47;outline-offset:2px}
.status{font-weight:bold}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p role="status">{{.Message}}</p>{{end}}
{{with .Booking}}
<dl>
<dt>Name</dt><dd>{{.Name}}</dd>
<dt>Event</dt><dd>{{$.EventTitle}}</dd>
<dt>When</dt><dd>{{$.When}}</dd>
<dt>Where</dt><dd>{{$.Where}}</dd>
<dt>Status</dt><dd class="status">{{$.Status}}</dd>
</dl>
{{if $.CanCancel}}
<form method="post" action="{{$.CancelAction}}">
<p>If you can no longer come, cancel your booking so that someone else can have your place.</p>
<button type="submit">Cancel my booking</button>
</form>
{{end}}
{{end}}
</main>
</body>
</html>
`))
})

type pageData struct {
	Title, Message          string
	Booking                 *event.Booking
	EventTitle, When, Where string
	Status                  string
	CanCancel               bool
	CancelAction            string
}

func render(status int, d pageData) httpapi.Response {
	var buf bytes.Buffer
	if err := pages().Execute(&buf, d); err != nil {
		// Only a template bug fails; the template is parsed and tested at build.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>")
	}
	h := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	}
	privateHeaders(h)
	return httpapi.Response{StatusCode: status, Headers: h, Body: buf.String()}
}

// bookingPage is GET /bookings/{token} (and the answer to its form): the booking, its status
// and, while it can be cancelled, the "Cancel my booking" button, which posts to
// /bookings/{token}/cancel. A GET never cancels: mail scanners follow links.
func bookingPage(b event.Booking, ev event.Event, token string, afterCancel bool) httpapi.Response {
	d := pageData{
		Title: "Your booking", Booking: &b, EventTitle: ev.Title, When: when(ev), Where: where(ev),
		// Relative to /bookings/{token}: the page works under any API path prefix.
		CancelAction: token + "/cancel",
	}
	switch {
	case ev.Status == event.StatusCancelled:
		d.Status = "This event has been cancelled"
	case b.Status == event.BookingConfirmed:
		d.Status = "Confirmed"
		d.CanCancel = true
	case b.Status == event.BookingWaitlisted:
		d.Status = "On the waiting list (number " + strconv.Itoa(b.Position) + ")"
		d.CanCancel = true
	default:
		d.Status = "Cancelled"
	}
	if afterCancel {
		d.Title = "Your booking is cancelled"
		d.Message = "Your booking is cancelled. We have sent you an email to confirm it. Thank you for letting us know."
		d.CanCancel = false
	}
	return render(http.StatusOK, d)
}

// messagePage is a page with a title and one message (an expired link, an error).
func messagePage(status int, title, message string) httpapi.Response {
	return render(status, pageData{Title: title, Message: message})
}

// when is the event's date and time in its own time zone, as its mails write it.
func when(ev event.Event) string {
	return event.When(ev.StartsAt, ev.EndsAt, zone(ev.Timezone), ev.Timezone)
}

// where is the event's place for the public: venue, address and postcode, or "Online".
func where(ev event.Event) string {
	l := ev.Location
	if l.Online {
		return "Online"
	}
	var parts []string
	for _, p := range []string{l.Venue, l.Address, l.Postcode} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
