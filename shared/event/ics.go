package event

// The iCalendar file of an event (RFC 5545), served at GET /events/{id}/calendar.ics and
// attached to booking mails: one VEVENT whose UID is stable per event, its start and end as
// local times in the event's zone, with a VTIMEZONE for that zone written from Go's time zone
// data, so that calendar programs place the event right whatever their own zone's rules.

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Methods of a calendar file (RFC 5546): PUBLISH adds or updates the event in the attendee's
// calendar; CANCEL removes it.
const (
	MethodPublish = "PUBLISH"
	MethodCancel  = "CANCEL"
)

// CalendarOptions says which copy of an event's calendar file to write.
type CalendarOptions struct {
	SiteURL    string    // the site's base URL: the event's URL is SiteURL/events/<id>, its UID <id>@<host>
	Now        time.Time // when the copy is made (DTSTAMP); the event's UpdatedAt when zero
	Method     string    // MethodPublish (the default) or MethodCancel
	JoiningURL bool      // the attendees' copy: an online event's joining link in DESCRIPTION and LOCATION
	Organizer  string    // optional: the sender's email address, as ORGANIZER (RFC 5546 asks for one)
}

// icsStamp and icsLocal are the forms of DATE-TIME in UTC and in local time (with a TZID).
const (
	icsStamp = "20060102T150405Z"
	icsLocal = "20060102T150405"
)

// Calendar returns the iCalendar file of e: a VCALENDAR (VERSION 2.0, PRODID, METHOD) with a
// VTIMEZONE for e's zone over the years the event spans and one VEVENT: UID <id>@<site host>,
// DTSTAMP, DTSTART and DTEND with TZID, SEQUENCE, SUMMARY (the title), DESCRIPTION (summary
// and link), LOCATION (venue, address and postcode, or "Online"), URL and STATUS (CANCELLED
// when e is cancelled or Method is CANCEL, else CONFIRMED). Lines end in CRLF and are folded at
// 75 octets, never inside a UTF-8 sequence.
//
// SEQUENCE is the number of seconds from CreatedAt to the event's last change (UpdatedAt, or
// CancelledAt if later): it grows with every change, so a later copy supersedes an earlier
// one, and copies of the same revision share it (RFC 5546 then orders them by DTSTAMP, so a
// booking made again after a CANCEL is added again).
func Calendar(e Event, o CalendarOptions) []byte {
	method := MethodPublish
	if strings.EqualFold(o.Method, MethodCancel) {
		method = MethodCancel
	}
	cancelled := e.Status == StatusCancelled || method == MethodCancel
	site := strings.TrimRight(o.SiteURL, "/")
	host := "sectorhub"
	if u, err := url.Parse(o.SiteURL); err == nil && u.Hostname() != "" {
		host = strings.ToLower(u.Hostname())
	}
	eventURL := site + "/events/" + url.PathEscape(e.ID)
	now := o.Now
	if now.IsZero() {
		now = e.UpdatedAt
	}

	w := &icsWriter{}
	w.prop("BEGIN", "VCALENDAR")
	w.prop("VERSION", "2.0")
	w.prop("PRODID", "-//sectorhub//Events//EN")
	w.prop("CALSCALE", "GREGORIAN")
	w.prop("METHOD", method)

	// Times are local with a TZID; in UTC only if the zone is unknown (never for a valid event).
	when := func(name string, t time.Time) { w.prop(name, t.UTC().Format(icsStamp)) }
	if loc, err := LoadZone(e.Timezone); err == nil {
		w.timezone(e.Timezone, loc, e.StartsAt, e.EndsAt)
		when = func(name string, t time.Time) {
			w.prop(name+";TZID="+e.Timezone, t.In(loc).Format(icsLocal))
		}
	}

	w.prop("BEGIN", "VEVENT")
	w.prop("UID", text(e.ID+"@"+host))
	w.prop("DTSTAMP", now.UTC().Format(icsStamp))
	when("DTSTART", e.StartsAt)
	when("DTEND", e.EndsAt)
	w.prop("SEQUENCE", strconv.Itoa(sequence(e)))
	if !e.CreatedAt.IsZero() {
		w.prop("CREATED", e.CreatedAt.UTC().Format(icsStamp))
	}
	if !e.UpdatedAt.IsZero() {
		w.prop("LAST-MODIFIED", e.UpdatedAt.UTC().Format(icsStamp))
	}
	w.prop("SUMMARY", text(e.Title))

	var desc []string
	switch {
	case e.Status == StatusCancelled:
		desc = append(desc, "This event has been cancelled.")
	case cancelled:
		desc = append(desc, "Your place at this event has been cancelled.")
	}
	if e.Summary != "" {
		desc = append(desc, e.Summary)
	}
	joining := o.JoiningURL && !cancelled && e.Location.Online && e.Location.JoiningURL != ""
	if joining {
		desc = append(desc, "Join online: "+e.Location.JoiningURL)
	}
	desc = append(desc, "Details: "+eventURL)
	w.prop("DESCRIPTION", text(strings.Join(desc, "\n\n")))

	var where string
	switch {
	case joining:
		where = e.Location.JoiningURL
	case e.Location.Online:
		where = "Online"
	default:
		var parts []string
		for _, p := range append([]string{e.Location.Venue}, strings.Split(e.Location.Address, "\n")...) {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		if e.Location.Postcode != "" {
			parts = append(parts, e.Location.Postcode)
		}
		where = strings.Join(parts, ", ")
	}
	w.prop("LOCATION", text(where))
	w.prop("URL", uri(eventURL))
	if cancelled {
		w.prop("STATUS", "CANCELLED")
	} else {
		w.prop("STATUS", "CONFIRMED")
	}
	if o.Organizer != "" {
		w.prop("ORGANIZER", uri("mailto:"+o.Organizer))
	}
	w.prop("END", "VEVENT")
	w.prop("END", "VCALENDAR")
	return w.b
}

// sequence is the event's SEQUENCE: seconds from its creation to its last change.
func sequence(e Event) int {
	last := e.UpdatedAt
	if e.CancelledAt.After(last) {
		last = e.CancelledAt
	}
	if e.CreatedAt.IsZero() || !last.After(e.CreatedAt) {
		return 0
	}
	return int(min(last.Sub(e.CreatedAt)/time.Second, math.MaxInt32))
}

// timezone writes a VTIMEZONE for loc covering the years from..to: the observance in effect
// on 1 January of the first year (with its real onset, however long before), then one per
// change of offset until the end of the last year. Each observance's DTSTART is its onset in
// the local time in effect before it, as RFC 5545 requires. A zone that never changes (UTC,
// Asia/Kolkata since 1945) gets a single STANDARD.
func (w *icsWriter) timezone(tzid string, loc *time.Location, from, to time.Time) {
	first := time.Date(from.In(loc).Year(), 1, 1, 0, 0, 0, 0, loc)
	last := time.Date(to.In(loc).Year()+1, 1, 1, 0, 0, 0, 0, loc)
	w.prop("BEGIN", "VTIMEZONE")
	w.prop("TZID", text(tzid))
	type zone struct {
		name string
		off  int
		dst  bool
	}
	var prev zone
	t := first
	for i := 0; i < 1000; i++ { // at most two changes a year in the 2000–2099 window ParseEvent allows
		onset, next := t.ZoneBounds()
		name, off := t.Zone()
		if z := (zone{name, off, t.IsDST()}); i == 0 || z != prev {
			prev = z
			kind := "STANDARD"
			if z.dst {
				kind = "DAYLIGHT"
			}
			fromOff, local := off, "19700101T000000"
			if !onset.IsZero() {
				_, fromOff = onset.Add(-time.Second).Zone()
				local = onset.UTC().Add(time.Duration(fromOff) * time.Second).Format(icsLocal)
			}
			w.prop("BEGIN", kind)
			w.prop("DTSTART", local)
			w.prop("TZOFFSETFROM", utcOffset(fromOff))
			w.prop("TZOFFSETTO", utcOffset(off))
			w.prop("TZNAME", text(name))
			w.prop("END", kind)
		}
		if next.IsZero() || !next.After(t) || !next.Before(last) {
			break
		}
		t = next
	}
	w.prop("END", "VTIMEZONE")
}

// utcOffset writes an offset in seconds as RFC 5545's UTC-OFFSET: +hhmm, or +hhmmss.
func utcOffset(sec int) string {
	sign := byte('+')
	if sec < 0 {
		sign, sec = '-', -sec
	}
	b := []byte{sign}
	b = append(b, twoDigits(sec/3600)...)
	b = append(b, twoDigits(sec/60%60)...)
	if sec%60 != 0 {
		b = append(b, twoDigits(sec%60)...)
	}
	return string(b)
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10%10), byte('0' + n%10)}) }

// text escapes s as an RFC 5545 TEXT value: backslash, semicolon and comma are escaped, line
// breaks become \n, and other control characters but tab are dropped (TEXT cannot hold them).
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t' || !unicode.IsControl(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// uri drops from s what a URI value cannot hold (control characters and invalid UTF-8).
func uri(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// icsWriter writes content lines, folded.
type icsWriter struct{ b []byte }

// prop writes the content line name:value (name may carry parameters), folding it so that no
// line is longer than 75 octets: a continuation line starts with a space, and a fold never
// splits a UTF-8 sequence.
func (w *icsWriter) prop(name, value string) {
	s, n := name+":"+value, 0
	for len(s) > 0 {
		_, size := utf8.DecodeRuneInString(s)
		if n+size > 75 {
			w.b = append(w.b, "\r\n "...)
			n = 1
		}
		w.b = append(w.b, s[:size]...)
		n += size
		s = s[size:]
	}
	w.b = append(w.b, "\r\n"...)
}
