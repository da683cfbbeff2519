package eventmail

import (
	"fmt"
	"strings"
	"time"

	"sectorhub/shared/event"
)

const (
	dayLayout  = "Monday 2 January 2006"
	timeLayout = "15:04"
)

// location loads the event's time zone (event.DefaultTimezone when it names none). The name
// is checked when staff write the event, so an error here means stored data is wrong; the
// name is not personal data.
func location(tz string) (*time.Location, error) {
	if tz == "" {
		tz = event.DefaultTimezone
	}
	loc, err := event.LoadZone(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	return loc, nil
}

// zoneLabel is how the charity names a time zone after a time: "UK time" for
// Europe/London, "UTC", otherwise the IANA name ("Europe/Paris time").
func zoneLabel(tz string) string {
	switch tz {
	case "", event.DefaultTimezone:
		return "UK time"
	case "UTC", "Etc/UTC", "Etc/GMT", "GMT":
		return "UTC"
	}
	return strings.ReplaceAll(tz, "_", " ") + " time"
}

// when writes an event's date and time in its own zone as the charity does:
// "Monday 11 December 2026, 09:30 to 16:00 (UK time)", or, for an event over several days,
// "Monday 11 December 2026, 09:30 to Tuesday 12 December 2026, 16:00 (UK time)".
func when(start, end time.Time, loc *time.Location, tz string) string {
	s, e := start.In(loc), end.In(loc)
	to := e.Format(timeLayout)
	if !sameDay(s, e) {
		to = e.Format(dayLayout) + ", " + to
	}
	return s.Format(dayLayout) + ", " + s.Format(timeLayout) + " to " + to + " (" + zoneLabel(tz) + ")"
}

// relativeDay says when start is as seen at now, both in loc: "today", "tomorrow", or
// "on Monday 11 December 2026" (a reminder sent late or early still reads true).
func relativeDay(now, start time.Time, loc *time.Location) string {
	switch dayNumber(start.In(loc)) - dayNumber(now.In(loc)) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return "on " + start.In(loc).Format(dayLayout)
}

func sameDay(a, b time.Time) bool { return dayNumber(a) == dayNumber(b) }

// dayNumber counts calendar days of t's date (in t's own location) since 1970-01-01.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
