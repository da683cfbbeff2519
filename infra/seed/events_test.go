package seed

import (
	"encoding/json"
	"testing"
	"time"

	"sectorhub/shared/event"
)

// TestSampleEventsAreValid checks that every sample event is a valid staff body and every
// sample booking a valid booking for it, so the local stack's seeding never fails. The past
// ones are valid as of when they were created (the stack writes those to the table itself:
// the staff API refuses an event that has already ended).
func TestSampleEventsAreValid(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	samples := Events(now)
	var drafts, past, online, paid, waiting int
	for i, s := range samples {
		ev, problems := event.ParseEvent(s.JSON(), now.AddDate(0, 0, -60))
		if len(problems) > 0 {
			t.Errorf("sample event %d (%v): %v", i, s.Body["title"], problems)
			continue
		}
		if ev.Status == event.StatusDraft {
			drafts++
		}
		if ev.EndsAt.Before(now) {
			past++
		}
		if ev.Location.Online {
			online++
		}
		if p, _ := ev.PriceFrom(); p > 0 {
			paid++
		}
		if len(s.Bookings) > ev.Capacity && ev.WaitingList {
			waiting++
		}
		for j, b := range s.Bookings {
			body, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if _, problems := event.ParseBooking(body, ev); len(problems) > 0 {
				t.Errorf("sample event %d booking %d: %v", i, j, problems)
			}
		}
	}
	if len(samples) < 8 || drafts != 1 || past < 1 || online < 2 || paid < 2 || waiting != 1 {
		t.Errorf("%d samples: %d drafts, %d past, %d online, %d paid, %d with a waiting list in use; want ~8 covering each", len(samples), drafts, past, online, paid, waiting)
	}
}
