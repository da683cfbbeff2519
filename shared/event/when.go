package event

import (
	"strings"
	"time"
)

// DayLayout is how the charity writes a date: "Monday 11 December 2026".
const DayLayout = "Monday 2 January 2006"

// ZoneLabel is how the charity names a time zone after a time: "UK time" for
// Europe/London, "UTC", otherwise the IANA name ("Europe/Paris time").
func ZoneLabel(tz string) string {
	switch tz {
	case "", DefaultTimezone:
		return "UK time"
	case "UTC", "Etc/UTC", "Etc/GMT", "GMT":
		return "UTC"
	}
	return strings.ReplaceAll(tz, "_", " ") + " time"
}

// When writes an event's date and time in its own zone (loc, named tz) as the charity does:
// "Monday 11 December 2026, 09:30 to 16:00 (UK time)", or, for an event over several days,
// "Monday 11 December 2026, 09:30 to Tuesday 12 December 2026, 16:00 (UK time)". Mails and the
// booking page both write it so.
func When(start, end time.Time, loc *time.Location, tz string) string {
	s, e := start.In(loc), end.In(loc)
	to := e.Format("15:04")
	if DayNumber(s) != DayNumber(e) {
		to = e.Format(DayLayout) + ", " + to
	}
	return s.Format(DayLayout) + ", " + s.Format("15:04") + " to " + to + " (" + ZoneLabel(tz) + ")"
}

// DayNumber counts calendar days of t's date (in t's own location) since 1970-01-01.
func DayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
