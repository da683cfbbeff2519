package eventmail

import (
	"fmt"
	"time"

	"sectorhub/shared/event"
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

// relativeDay says when start is as seen at now, both in loc: "today", "tomorrow", or
// "on Monday 11 December 2026" (a reminder sent late or early still reads true).
func relativeDay(now, start time.Time, loc *time.Location) string {
	switch event.DayNumber(start.In(loc)) - event.DayNumber(now.In(loc)) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return "on " + start.In(loc).Format(event.DayLayout)
}
