package eventapi

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/event"
)

func TestParseListQuery(t *testing.T) {
	tests := []struct {
		name, raw, wantErr string
		check              func(ListQuery) bool
	}{
		{"empty", "", "", func(q ListQuery) bool { return q.Page == 1 && q.PerPage == defaultPerPage }},
		{"dates", "from=2026-12-01&to=2026-12-31", "", func(q ListQuery) bool {
			return q.From.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, uk)) && q.To.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, uk))
		}},
		{"types", "type=webinar,training&type=webinar", "", func(q ListQuery) bool { return len(q.Types) == 2 }},
		{"online", "online=false", "", func(q ListQuery) bool { return q.Online != nil && !*q.Online }},
		{"theme label", "theme=Peer%20support", "", func(q ListQuery) bool { return len(q.Themes) == 1 && q.Themes[0] == "peer-support" }},
		{"bad date", "from=01/12/2026", "from must be a date", nil},
		{"to before from", "from=2026-12-02&to=2026-12-01", "to must be", nil},
		{"bad type", "type=party", "unknown type", nil},
		{"bad online", "online=yes", "online must be true or false", nil},
		{"bad page", "page=0", "page must be", nil},
		{"per_page too big", "per_page=101", "per_page must be between 1 and 100", nil},
		{"twice", "page=1&page=2", "only once", nil},
		{"unknown", "sort=price", "unknown parameter", nil},
		{"bad region", "region=mars", "unknown region", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseListQuery(v)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseListQuery(%q) = %v; want an error containing %q", tc.raw, err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(q) {
				t.Fatalf("ParseListQuery(%q) = %+v, %v", tc.raw, q, err)
			}
		})
	}
}

func TestMatchesDatesOverlap(t *testing.T) {
	v, _ := url.ParseQuery("from=2026-12-11&to=2026-12-11")
	q, err := ParseListQuery(v)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		name       string
		start, end string
		want       bool
	}{
		{"that day", "2026-12-11T09:30:00Z", "2026-12-11T16:00:00Z", true},
		{"spans into it", "2026-12-10T09:00:00Z", "2026-12-11T12:00:00Z", true},
		{"day before", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", false},
		{"day after", "2026-12-12T09:00:00Z", "2026-12-12T17:00:00Z", false},
	}
	for _, tc := range tests {
		ev := event.Event{StartsAt: at(tc.start), EndsAt: at(tc.end)}
		if got := q.Matches(&ev); got != tc.want {
			t.Errorf("%s: Matches = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-12-01&to=2026-12-31", "type=webinar&online=true&page=2&per_page=5", "theme=housing,co-production", "region=%ff", "to=2026-02-30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseListQuery(v)
		if err != nil {
			return
		}
		if q.Page < 1 || q.Page > maxPage || q.PerPage < 1 || q.PerPage > maxPerPage {
			t.Fatalf("ParseListQuery(%q) accepted page %d per_page %d", raw, q.Page, q.PerPage)
		}
		if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
			t.Fatalf("ParseListQuery(%q) accepted to before from", raw)
		}
	})
}
