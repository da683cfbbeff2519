package event

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

const site = "https://www.example.org/"

// icsEvent is an event at a venue whose text needs every TEXT escape and folding.
func icsEvent(tb testing.TB) Event {
	ev := mustEvent(tb, venueBody())
	ev.Title = `Network, meeting; part 1\2 — Café “winter” 🎉 and a title long enough to be folded twice over`
	ev.Summary = "Line one,\nline two; with a backslash \\ and non-ASCII: éèê ÿ 日本語 " + strings.Repeat("ü", 40)
	ev.Location.Venue = "St Mary's Hall, Room 2"
	ev.Location.Address = "356 Holloway Road;\nIslington\nLondon"
	return ev
}

// decode parses a calendar file with go-ical, after checking its lines: CRLF endings, at most
// 75 octets, each valid UTF-8 on its own (no fold inside a character).
func decode(tb testing.TB, b []byte) *ical.Calendar {
	tb.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		tb.Fatalf("calendar does not end with CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		if len(line) > 75 || strings.ContainsAny(line, "\r\n") || !utf8.ValidString(line) {
			tb.Errorf("calendar line %d = %q (%d octets): longer than 75 octets, a bare CR/LF or a split character", i+1, line, len(line))
		}
	}
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		tb.Fatalf("go-ical: %v\n%s", err, b)
	}
	return cal
}

// vevent returns the calendar's one VEVENT.
func vevent(tb testing.TB, cal *ical.Calendar) ical.Event {
	tb.Helper()
	evs := cal.Events()
	if len(evs) != 1 {
		tb.Fatalf("calendar has %d VEVENTs; want 1", len(evs))
	}
	return evs[0]
}

func propText(tb testing.TB, c *ical.Component, name string) string {
	tb.Helper()
	p := c.Props.Get(name)
	if p == nil {
		tb.Fatalf("no %s", name)
	}
	s, err := p.Text()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestCalendar(t *testing.T) {
	ev := icsEvent(t)
	stamp := now.Add(90 * time.Minute)
	b := Calendar(ev, CalendarOptions{SiteURL: site, Now: stamp})
	cal := decode(t, b)
	e := vevent(t, cal)

	for name, want := range map[string]string{"VERSION": "2.0", "METHOD": "PUBLISH", "PRODID": "-//sectorhub//Events//EN"} {
		if p := cal.Props.Get(name); p == nil || p.Value != want {
			t.Errorf("VCALENDAR %s = %v; want %q", name, p, want)
		}
	}
	url := "https://www.example.org/events/" + ev.ID
	texts := []struct{ name, want string }{
		{"UID", ev.ID + "@www.example.org"},
		{"SUMMARY", ev.Title},
		{"LOCATION", "St Mary's Hall, Room 2, 356 Holloway Road;, Islington, London, N7 6PA"},
		{"DESCRIPTION", ev.Summary + "\n\nDetails: " + url},
		{"STATUS", "CONFIRMED"},
	}
	for _, c := range texts {
		if got := propText(t, e.Component, c.name); got != c.want {
			t.Errorf("VEVENT %s = %q; want %q", c.name, got, c.want)
		}
	}
	for name, want := range map[string]string{"SEQUENCE": "0", "DTSTAMP": "20261126T133000Z", "CREATED": "20261126T120000Z", "LAST-MODIFIED": "20261126T120000Z"} {
		if p := e.Props.Get(name); p == nil || p.Value != want {
			t.Errorf("VEVENT %s = %+v; want %s", name, p, want)
		}
	}
	if u, err := e.Props.Get("URL").URI(); err != nil || u.String() != url {
		t.Errorf("VEVENT URL = %v, %v; want %s", u, err, url)
	}
	for _, c := range []struct {
		name string
		want time.Time
	}{{"DTSTART", ev.StartsAt}, {"DTEND", ev.EndsAt}} {
		p := e.Props.Get(c.name)
		if p == nil || p.Params.Get("TZID") != "Europe/London" {
			t.Fatalf("%s = %+v; want a TZID of Europe/London", c.name, p)
		}
		got, err := p.DateTime(nil)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if p := e.Props.Get("ORGANIZER"); p != nil {
		t.Errorf("ORGANIZER = %q without CalendarOptions.Organizer; want none", p.Value)
	}
	withOrganizer := vevent(t, decode(t, Calendar(ev, CalendarOptions{SiteURL: site, Now: stamp, Organizer: "events@example.org"})))
	if p := withOrganizer.Props.Get("ORGANIZER"); p == nil || p.Value != "mailto:events@example.org" {
		t.Errorf("ORGANIZER = %+v; want mailto:events@example.org", p)
	}
	if Calendar(ev, CalendarOptions{SiteURL: "https://www.example.org", Now: stamp}) == nil || !bytes.Equal(b, Calendar(ev, CalendarOptions{SiteURL: site, Now: stamp})) {
		t.Errorf("Calendar is not deterministic")
	}
}

func TestCalendarCopies(t *testing.T) {
	online := mustEvent(t, onlineBody())
	joining := online.Location.JoiningURL
	cancelled := online
	cancelled.Status, cancelled.CancelledAt = StatusCancelled, now.Add(time.Hour)
	cases := []struct {
		name        string
		ev          Event
		o           CalendarOptions
		method      string
		status      string
		location    string
		description string // in DESCRIPTION
		joining     bool   // the joining URL anywhere in the file
	}{
		{"public", online, CalendarOptions{}, "PUBLISH", "CONFIRMED", "Online", "An hour on co-production.", false},
		{"attendee", online, CalendarOptions{JoiningURL: true}, "PUBLISH", "CONFIRMED", joining, "Join online: " + joining, true},
		{"attendee cancels", online, CalendarOptions{JoiningURL: true, Method: "cancel"}, "CANCEL", "CANCELLED", "Online", "Your place at this event has been cancelled.", false},
		{"event cancelled", cancelled, CalendarOptions{JoiningURL: true, Method: MethodCancel}, "CANCEL", "CANCELLED", "Online", "This event has been cancelled.", false},
		{"cancelled event published", cancelled, CalendarOptions{}, "PUBLISH", "CANCELLED", "Online", "This event has been cancelled.", false},
		{"unknown method", online, CalendarOptions{Method: "REQUEST"}, "PUBLISH", "CONFIRMED", "Online", "", false},
	}
	for _, c := range cases {
		c.o.SiteURL, c.o.Now = site, now
		b := Calendar(c.ev, c.o)
		cal := decode(t, b)
		e := vevent(t, cal)
		if got := cal.Props.Get("METHOD").Value; got != c.method {
			t.Errorf("%s: METHOD = %q; want %q", c.name, got, c.method)
		}
		if got := propText(t, e.Component, "STATUS"); got != c.status {
			t.Errorf("%s: STATUS = %q; want %q", c.name, got, c.status)
		}
		if got := propText(t, e.Component, "LOCATION"); got != c.location {
			t.Errorf("%s: LOCATION = %q; want %q", c.name, got, c.location)
		}
		if got := propText(t, e.Component, "DESCRIPTION"); !strings.Contains(got, c.description) {
			t.Errorf("%s: DESCRIPTION = %q; want it to contain %q", c.name, got, c.description)
		}
		if got := bytes.Contains(unfold(b), []byte("meet.example.org")); got != c.joining {
			t.Errorf("%s: joining URL in the file = %v; want %v", c.name, got, c.joining)
		}
		if got := propText(t, e.Component, "UID"); got != online.ID+"@www.example.org" {
			t.Errorf("%s: UID = %q; want the event's", c.name, got)
		}
	}
}

// unfold undoes line folding.
func unfold(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n "), nil) }

func TestCalendarSequence(t *testing.T) {
	ev := mustEvent(t, venueBody())
	seq := func(e Event, o CalendarOptions) int {
		t.Helper()
		n, err := vevent(t, decode(t, Calendar(e, o))).Props.Get("SEQUENCE").Int()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	o := CalendarOptions{SiteURL: site, Now: now}
	first := seq(ev, o)
	updated := ev
	updated.UpdatedAt = ev.CreatedAt.Add(10 * time.Minute)
	cancelled := updated
	cancelled.Status, cancelled.CancelledAt = StatusCancelled, updated.UpdatedAt.Add(time.Hour)
	cases := []struct {
		name string
		got  int
		want int
	}{
		{"created", first, 0},
		{"later copy, same revision", seq(ev, CalendarOptions{SiteURL: site, Now: now.Add(time.Hour)}), 0},
		{"updated", seq(updated, o), 600},
		{"attendee cancel of the revision", seq(updated, CalendarOptions{SiteURL: site, Now: now, Method: MethodCancel}), 600},
		{"cancelled", seq(cancelled, o), 4200},
		{"huge", seq(with2(ev, func(e *Event) { e.UpdatedAt = e.CreatedAt.Add(100 * 365 * 24 * time.Hour) }), o), 1<<31 - 1},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("SEQUENCE(%s) = %d; want %d", c.name, c.got, c.want)
		}
	}
}

// observance is one STANDARD or DAYLIGHT of a VTIMEZONE: its onset as an instant, and the
// offsets before and after.
type observance struct {
	onset    time.Time
	from, to int
}

// observances reads the VTIMEZONE with tzid, sorted by onset.
func observances(tb testing.TB, cal *ical.Calendar, tzid string) []observance {
	tb.Helper()
	var obs []observance
	n := 0
	for _, c := range cal.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		n++
		if got := propText(tb, c, "TZID"); got != tzid {
			tb.Errorf("VTIMEZONE TZID = %q; want %q", got, tzid)
		}
		for _, o := range c.Children {
			if o.Name != "STANDARD" && o.Name != "DAYLIGHT" {
				tb.Errorf("VTIMEZONE holds a %s", o.Name)
			}
			local, err := time.Parse(icsLocal, o.Props.Get("DTSTART").Value)
			if err != nil {
				tb.Fatalf("observance DTSTART: %v", err)
			}
			from, to := offset(tb, o.Props.Get("TZOFFSETFROM").Value), offset(tb, o.Props.Get("TZOFFSETTO").Value)
			if o.Props.Get("TZNAME") == nil {
				tb.Errorf("observance without TZNAME")
			}
			obs = append(obs, observance{local.Add(-time.Duration(from) * time.Second), from, to})
		}
	}
	if n != 1 || len(obs) == 0 {
		tb.Fatalf("calendar has %d VTIMEZONEs with %d observances; want 1 with some", n, len(obs))
	}
	slices.SortFunc(obs, func(a, b observance) int { return a.onset.Compare(b.onset) })
	return obs
}

func offset(tb testing.TB, s string) int {
	tb.Helper()
	if len(s) != 5 && len(s) != 7 || (s[0] != '+' && s[0] != '-') {
		tb.Fatalf("UTC offset %q", s)
	}
	n := 0
	for i, unit := range []int{3600, 60, 1} {
		if 1+2*i+2 <= len(s) {
			v, err := strconv.Atoi(s[1+2*i : 3+2*i])
			if err != nil {
				tb.Fatalf("UTC offset %q", s)
			}
			n += v * unit
		}
	}
	if s[0] == '-' {
		n = -n
	}
	return n
}

// resolve turns a local time written in the file into an instant using only the VTIMEZONE's
// observances, as a calendar program without Go's zone data would.
func resolve(obs []observance, wall string) (time.Time, bool) {
	w, err := time.Parse(icsLocal, wall)
	if err != nil {
		return time.Time{}, false
	}
	for i, o := range obs {
		t := w.Add(-time.Duration(o.to) * time.Second)
		if t.Before(o.onset) || (i+1 < len(obs) && !t.Before(obs[i+1].onset)) {
			continue
		}
		return t, true
	}
	return time.Time{}, false
}

func TestCalendarTimezones(t *testing.T) {
	cases := []struct {
		zone       string
		start, end string // RFC 3339
		observed   int    // observances in the VTIMEZONE
	}{
		{"Europe/London", "2026-06-11T09:30:00+01:00", "2026-06-11T17:00:00+01:00", 3},
		{"Europe/London", "2026-12-11T09:30:00Z", "2026-12-11T17:00:00Z", 3},
		{"Europe/London", "2026-10-24T09:00:00+01:00", "2026-10-26T17:00:00Z", 3},            // over the change to GMT
		{"Europe/London", "2026-12-31T20:00:00Z", "2027-01-01T02:00:00Z", 5},                 // two years
		{"UTC", "2026-12-11T09:30:00Z", "2026-12-11T10:30:00Z", 1},                           // no changes ever
		{"Asia/Kolkata", "2026-12-11T09:30:00+05:30", "2026-12-11T12:00:00+05:30", 1},        // none since 1945
		{"America/Sao_Paulo", "2026-12-11T09:30:00-03:00", "2026-12-11T12:00:00-03:00", 1},   // none since 2019
		{"America/New_York", "2026-03-07T12:00:00-05:00", "2026-03-09T12:00:00-04:00", 3},    // over the change to EDT
		{"Australia/Sydney", "2026-12-31T20:00:00+11:00", "2027-01-02T02:00:00+11:00", 5},    // southern summer over the year
		{"Australia/Lord_Howe", "2026-04-04T12:00:00+11:00", "2026-04-06T12:00:00+10:30", 3}, // half-hour change
		{"Pacific/Chatham", "2026-06-01T09:00:00+12:45", "2026-06-01T10:00:00+12:45", 3},     // offset in 15 minutes
		{"Africa/Casablanca", "2026-03-01T09:00:00+01:00", "2026-03-01T10:00:00+01:00", 0},   // Ramadan changes: any count
	}
	for _, c := range cases {
		// Built by hand: some of these events are before now, which ParseEvent refuses.
		ev := mustEvent(t, onlineBody())
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		ev.Timezone = c.zone
		for _, f := range []struct {
			dst *time.Time
			s   string
		}{{&ev.StartsAt, c.start}, {&ev.EndsAt, c.end}} {
			tt, err := time.Parse(time.RFC3339, f.s)
			if err != nil {
				t.Fatal(err)
			}
			*f.dst = tt.In(loc)
		}
		cal := decode(t, Calendar(ev, CalendarOptions{SiteURL: site, Now: now}))
		obs := observances(t, cal, c.zone)
		if c.observed > 0 && len(obs) != c.observed {
			t.Errorf("%s %s: %d observances; want %d", c.zone, c.start, len(obs), c.observed)
		}
		for i, o := range obs {
			if i == 0 && o.from == o.to {
				continue // a zone's only or first observance may have no change at its onset
			}
			_, before := o.onset.Add(-time.Second).In(loc).Zone()
			_, after := o.onset.In(loc).Zone()
			if before != o.from || after != o.to {
				t.Errorf("%s: observance at %v says %d → %d; Go's data says %d → %d", c.zone, o.onset, o.from, o.to, before, after)
			}
		}
		e := vevent(t, cal)
		for _, p := range []struct {
			name string
			want time.Time
		}{{"DTSTART", ev.StartsAt}, {"DTEND", ev.EndsAt}} {
			prop := e.Props.Get(p.name)
			if prop.Params.Get("TZID") != c.zone {
				t.Errorf("%s: %s TZID = %q", c.zone, p.name, prop.Params.Get("TZID"))
			}
			if got, ok := resolve(obs, prop.Value); !ok || !got.Equal(p.want) {
				t.Errorf("%s: %s %s read with the VTIMEZONE = %v, %v; want %v", c.zone, p.name, prop.Value, got, ok, p.want)
			}
			if got, err := prop.DateTime(nil); err != nil || !got.Equal(p.want) {
				t.Errorf("%s: %s read by go-ical = %v, %v; want %v", c.zone, p.name, got, err, p.want)
			}
		}
	}
}

func TestFold(t *testing.T) {
	cases := []struct {
		name  string
		value string
		lines []string
	}{
		{"short", "abc", []string{"X:abc"}},
		{"exactly 75", strings.Repeat("a", 73), []string{"X:" + strings.Repeat("a", 73)}},
		{"76", strings.Repeat("a", 74), []string{"X:" + strings.Repeat("a", 73), " a"}},
		{"3-byte at the edge", strings.Repeat("a", 72) + "€b", []string{"X:" + strings.Repeat("a", 72), " €b"}},
		{"4-byte runs", strings.Repeat("🎉", 40), []string{"X:" + strings.Repeat("🎉", 18), " " + strings.Repeat("🎉", 18), " " + strings.Repeat("🎉", 4)}},
	}
	for _, c := range cases {
		w := &icsWriter{}
		w.prop("X", c.value)
		want := strings.Join(c.lines, "\r\n") + "\r\n"
		if got := string(w.b); got != want {
			t.Errorf("fold(%s) = %q; want %q", c.name, got, want)
		}
	}
}

func TestText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{`a\b;c,d`, `a\\b\;c\,d`},
		{"one\r\ntwo\nthree\rfour", `one\ntwo\nthree\nfour`},
		{"tab\tbell\x07nul\x00", "tab\tbellnul"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
	}
	for _, c := range cases {
		if got := text(c.in); got != c.want {
			t.Errorf("text(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}
