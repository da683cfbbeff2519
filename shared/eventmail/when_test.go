package eventmail

import (
	"testing"
	"time"

	"sectorhub/shared/event"
)

func TestWhen(t *testing.T) {
	tests := []struct {
		name       string
		tz         string
		start, end string
		want       string
	}{
		{"winter in London (GMT)", "Europe/London", "2026-12-14T09:30:00Z", "2026-12-14T16:00:00Z",
			"Monday 14 December 2026, 09:30 to 16:00 (UK time)"},
		{"summer in London (BST)", "Europe/London", "2026-06-15T08:30:00Z", "2026-06-15T15:00:00Z",
			"Monday 15 June 2026, 09:30 to 16:00 (UK time)"},
		{"no zone is London", "", "2026-06-15T08:30:00Z", "2026-06-15T15:00:00Z",
			"Monday 15 June 2026, 09:30 to 16:00 (UK time)"},
		{"over two days", "Europe/London", "2026-06-15T08:30:00Z", "2026-06-16T15:00:00Z",
			"Monday 15 June 2026, 09:30 to Tuesday 16 June 2026, 16:00 (UK time)"},
		{"days differ in London only", "Europe/London", "2026-06-15T21:00:00Z", "2026-06-15T23:30:00Z",
			"Monday 15 June 2026, 22:00 to Tuesday 16 June 2026, 00:30 (UK time)"},
		{"another zone", "Europe/Paris", "2026-12-14T09:30:00Z", "2026-12-14T16:00:00Z",
			"Monday 14 December 2026, 10:30 to 17:00 (Europe/Paris time)"},
		{"zone with an underscore", "America/New_York", "2026-12-14T15:00:00Z", "2026-12-14T16:00:00Z",
			"Monday 14 December 2026, 10:00 to 11:00 (America/New York time)"},
		{"UTC", "UTC", "2026-12-14T09:30:00Z", "2026-12-14T16:00:00Z",
			"Monday 14 December 2026, 09:30 to 16:00 (UTC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := location(tt.tz)
			if err != nil {
				t.Fatalf("location(%q): %v", tt.tz, err)
			}
			got := event.When(mustTime(t, tt.start), mustTime(t, tt.end), loc, tt.tz)
			if got != tt.want {
				t.Errorf("when(%s, %s, %q) = %q; want %q", tt.start, tt.end, tt.tz, got, tt.want)
			}
		})
	}
}

func TestLocationUnknown(t *testing.T) {
	if _, err := location("Mars/Olympus_Mons"); err == nil {
		t.Errorf("location(%q) = nil error; want an error", "Mars/Olympus_Mons")
	}
}

func TestRelativeDay(t *testing.T) {
	london, err := location("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	start := "2026-06-16T08:30:00Z" // Tuesday 16 June, 09:30 BST
	tests := []struct {
		name string
		now  string
		want string
	}{
		{"24 hours before", "2026-06-15T08:30:00Z", "tomorrow"},
		{"early the day before", "2026-06-14T23:30:00Z", "tomorrow"}, // 00:30 BST on the 15th
		{"late two days before", "2026-06-14T22:30:00Z", "on Tuesday 16 June 2026"},
		{"the same day", "2026-06-16T06:00:00Z", "today"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := relativeDay(mustTime(t, tt.now), mustTime(t, start), london); got != tt.want {
				t.Errorf("relativeDay(%s, %s) = %q; want %q", tt.now, start, got, tt.want)
			}
		})
	}
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}
