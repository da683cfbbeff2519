package schedule

import (
	"strings"
	"testing"
	"time"
)

func london(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// In 2026 the clocks of Europe/London go forward at 01:00 GMT on Sunday 29 March (01:00-01:59
// never happens) and back at 02:00 BST on Sunday 25 October (01:00-01:59 happens twice).
func TestNext(t *testing.T) {
	lon := london(t)
	tests := []struct {
		name  string
		expr  string
		loc   *time.Location
		after string
		want  string // "" when it never fires again
	}{
		// Rates: a fixed interval, whatever the clocks do.
		{"rate minute", "rate(1 minute)", nil, "2026-11-23T10:20:07Z", "2026-11-23T10:21:07Z"},
		{"rate minutes", "rate(5 minutes)", nil, "2026-11-23T10:20:00Z", "2026-11-23T10:25:00Z"},
		{"rate hour", "rate(1 hour)", nil, "2026-11-23T10:20:00Z", "2026-11-23T11:20:00Z"},
		{"rate day across spring forward is 24 hours", "rate(1 day)", lon, "2026-03-28T09:00:00Z", "2026-03-29T09:00:00Z"},
		{"rate days", "rate(7 days)", nil, "2026-11-23T10:20:00Z", "2026-11-30T10:20:00Z"},

		// Plain fields, UTC.
		{"every minute", "cron(* * * * ? *)", nil, "2026-11-23T10:20:07Z", "2026-11-23T10:21:00Z"},
		{"on the minute is after", "cron(* * * * ? *)", nil, "2026-11-23T10:21:00Z", "2026-11-23T10:22:00Z"},
		{"daily at ten", "cron(0 10 * * ? *)", nil, "2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z"},
		{"daily, later today", "cron(15 12 * * ? *)", nil, "2026-11-23T10:00:00Z", "2026-11-23T12:15:00Z"},
		{"nil location is UTC", "cron(0 10 * * ? *)", nil, "2026-11-23T09:59:59Z", "2026-11-23T10:00:00Z"},
		{"list", "cron(0 8,12,18 * * ? *)", nil, "2026-11-23T12:00:00Z", "2026-11-23T18:00:00Z"},
		{"range", "cron(0 9-11 * * ? *)", nil, "2026-11-23T11:30:00Z", "2026-11-24T09:00:00Z"},
		{"step from zero", "cron(0/15 * * * ? *)", nil, "2026-11-23T10:31:00Z", "2026-11-23T10:45:00Z"},
		{"step from one", "cron(1/10 * * * ? *)", nil, "2026-11-23T10:31:00Z", "2026-11-23T10:41:00Z"},
		{"star step", "cron(0 */6 * * ? *)", nil, "2026-11-23T13:00:00Z", "2026-11-23T18:00:00Z"},
		{"range step", "cron(10-50/20 * * * ? *)", nil, "2026-11-23T10:51:00Z", "2026-11-23T11:10:00Z"},
		{"weekdays by name", "cron(15 10 ? * MON-FRI *)", nil, "2026-11-27T10:15:00Z", "2026-11-30T10:15:00Z"}, // Friday → Monday
		{"weekdays by number", "cron(15 10 ? * 2-6 *)", nil, "2026-11-27T10:15:00Z", "2026-11-30T10:15:00Z"},
		{"sunday is 1", "cron(0 0 ? * 1 *)", nil, "2026-11-23T00:00:00Z", "2026-11-29T00:00:00Z"},
		{"lower-case names", "cron(0 7 ? * tue *)", nil, "2026-11-23T00:00:00Z", "2026-11-24T07:00:00Z"},
		{"day of month", "cron(0 6 1 * ? *)", nil, "2026-11-23T00:00:00Z", "2026-12-01T06:00:00Z"},
		{"month names", "cron(0 0 1 JAN,JUL ? *)", nil, "2026-11-23T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"month step", "cron(0 0 1 1/3 ? *)", nil, "2026-11-23T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"31st skips short months", "cron(0 0 31 * ? *)", nil, "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z"},
		{"29 February", "cron(0 0 29 2 ? *)", nil, "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"year", "cron(0 0 1 1 ? 2030)", nil, "2026-11-23T00:00:00Z", "2030-01-01T00:00:00Z"},
		{"years over", "cron(0 0 1 1 ? 2020-2025)", nil, "2026-11-23T00:00:00Z", ""},
		{"30 February never comes", "cron(0 0 30 2 ? *)", nil, "2026-11-23T00:00:00Z", ""},

		// L, W and #.
		{"last day of the month", "cron(0 18 L * ? *)", nil, "2026-02-01T00:00:00Z", "2026-02-28T18:00:00Z"},
		{"last day of a leap February", "cron(0 18 L 2 ? *)", nil, "2027-03-01T00:00:00Z", "2028-02-29T18:00:00Z"},
		{"L alone in day-of-week is Saturday", "cron(0 9 ? * L *)", nil, "2026-11-23T00:00:00Z", "2026-11-28T09:00:00Z"},
		{"last Friday", "cron(0 9 ? * 6L *)", nil, "2026-11-23T00:00:00Z", "2026-11-27T09:00:00Z"},
		{"last Friday, next month", "cron(0 9 ? * FRIL *)", nil, "2026-11-27T09:00:00Z", "2026-12-25T09:00:00Z"},
		{"second Tuesday", "cron(0 9 ? * 3#2 *)", nil, "2026-11-23T00:00:00Z", "2026-12-08T09:00:00Z"},
		{"first Monday", "cron(0 9 ? * MON#1 *)", nil, "2026-11-23T00:00:00Z", "2026-12-07T09:00:00Z"},
		{"fifth Monday skips months without one", "cron(0 9 ? * 2#5 *)", nil, "2026-11-01T00:00:00Z", "2026-11-30T09:00:00Z"},
		{"weekday nearest a Saturday 15th", "cron(0 9 15W * ? *)", nil, "2026-08-01T00:00:00Z", "2026-08-14T09:00:00Z"},
		{"weekday nearest a Sunday 15th", "cron(0 9 15W * ? *)", nil, "2026-11-01T00:00:00Z", "2026-11-16T09:00:00Z"},
		{"weekday nearest a Saturday 1st stays in the month", "cron(0 9 1W * ? *)", nil, "2026-07-31T00:00:00Z", "2026-08-03T09:00:00Z"},
		{"weekday nearest a Sunday 31st stays in the month", "cron(0 9 31W * ? *)", nil, "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z"},

		// Europe/London: the wall clock, across both changes.
		{"daily at nine, winter", "cron(0 9 * * ? *)", lon, "2026-03-28T00:00:00Z", "2026-03-28T09:00:00Z"},
		{"daily at nine, first summer day", "cron(0 9 * * ? *)", lon, "2026-03-28T09:00:00Z", "2026-03-29T08:00:00Z"},
		{"daily at nine, first winter day", "cron(0 9 * * ? *)", lon, "2026-10-24T08:00:00Z", "2026-10-25T09:00:00Z"},
		{"hourly over spring forward skips 01:00", "cron(0 * * * ? *)", lon, "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"}, // 02:00 BST
		{"01:30 does not exist on spring forward day", "cron(30 1 * * ? *)", lon, "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z"},
		{"01:30 on fall back day is the first one", "cron(30 1 * * ? *)", lon, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
		{"01:30 on fall back day fires once", "cron(30 1 * * ? *)", lon, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		{"every 30 minutes skips the repeated hour", "cron(0/30 * * * ? *)", lon, "2026-10-25T00:45:00Z", "2026-10-25T02:00:00Z"},
		{"hourly during the repeated hour", "cron(0 * * * ? *)", lon, "2026-10-25T01:10:00Z", "2026-10-25T02:00:00Z"},
		{"hourly just before fall back", "cron(0 * * * ? *)", lon, "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z"}, // 01:00 BST
		{"weekly in summer time", "cron(0 7 ? * TUE *)", lon, "2026-06-01T00:00:00Z", "2026-06-02T06:00:00Z"},
		{"monthly at local midnight", "cron(0 0 1 * ? *)", lon, "2026-06-15T00:00:00Z", "2026-06-30T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			got, ok := e.Next(utc(tt.after), tt.loc)
			if tt.want == "" {
				if ok {
					t.Errorf("Next(%q after %s) = %v; want none", tt.expr, tt.after, got)
				}
				return
			}
			if !ok || !got.Equal(utc(tt.want)) {
				t.Errorf("Next(%q after %s in %v) = %v, %t; want %s", tt.expr, tt.after, tt.loc, got.UTC(), ok, tt.want)
			}
		})
	}
}

// TestNextSequenceAcrossDST walks an hourly London schedule through both changes of 2026:
// 23 firings on the short day and 24 on the long one, never two at one instant.
func TestNextSequenceAcrossDST(t *testing.T) {
	lon := london(t)
	e, err := Parse("cron(0 * * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range []struct {
		name     string
		from, to string
		want     int
	}{
		{"spring forward", "2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z", 23}, // local 00:00 to 00:00 next day, exclusive of the start
		{"fall back", "2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z", 24},
		{"ordinary day", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z", 24},
	} {
		n := 0
		at := utc(day.from)
		for {
			next, ok := e.Next(at, lon)
			if !ok {
				t.Fatalf("%s: no firing after %v", day.name, at)
			}
			if !next.After(at) {
				t.Fatalf("%s: Next(%v) = %v, not after it", day.name, at, next)
			}
			if next.After(utc(day.to)) {
				break
			}
			n, at = n+1, next
		}
		if n != day.want {
			t.Errorf("%s: %d hourly firings from %s to %s; want %d", day.name, n, day.from, day.to, day.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		{"rate(0 minutes)", "at least 1"},
		{"rate(-5 minutes)", "at least 1"},
		{"rate(1 minutes)", "must be rate(1 minute)"},
		{"rate(5 minute)", "must be rate(5 minutes)"},
		{"rate(5 seconds)", `unit "seconds"`},
		{"rate(1.5 hours)", "whole number"},
		{"rate(5)", "rate(value unit)"},
		{"every 5 minutes", "not rate(value unit) or cron("},
		{"cron(0 10 * * ?)", "6 fields"},
		{"cron(0 10 * * ? * *)", "6 fields"},
		{"cron(0 10 * * * *)", `exactly one of day-of-month and day-of-week must be "?"`},
		{"cron(0 10 ? * ? *)", `exactly one of day-of-month and day-of-week must be "?"`},
		{"cron(60 10 * * ? *)", `minutes "60"`},
		{"cron(0 24 * * ? *)", `hours "24"`},
		{"cron(0 10 0 * ? *)", `day-of-month "0"`},
		{"cron(0 10 * 13 ? *)", `month "13"`},
		{"cron(0 10 * FOO ? *)", "a name such as JAN"},
		{"cron(0 10 ? * 8 *)", `day-of-week "8"`},
		{"cron(0 10 ? * MON/2 *)", `"/" is not allowed in day-of-week`},
		{"cron(0 10 * * ? 1969)", `year "1969"`},
		{"cron(0 10 * * ? 2200)", `year "2200"`},
		{"cron(0 20-10 * * ? *)", "runs backwards"},
		{"cron(0 10 ? * FRI-MON *)", "runs backwards"},
		{"cron(0/0 10 * * ? *)", "at least 1"},
		{"cron(0,,5 10 * * ? *)", "empty item"},
		{"cron(? 10 * * ? *)", `"?" is for day-of-month or day-of-week`},
		{"cron(0 10 L-3 * ? *)", `"L-3"`},
		{"cron(0 10 LW * ? *)", "LW"},
		{"cron(0 10 1,15W * ? *)", "W follows one day"},
		{"cron(0 10 ? * 3#6 *)", "n from 1 to 5"},
		{"cron(0 10 ? * 3#1,6#3 *)", "alone in the field"},
		{"cron(0 10 ? * 2L,6L *)", "alone in the field"},
		{"cron(0 10 ? * L3 *)", "L stands alone or after one day"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.expr) {
			t.Errorf("Parse(%q) = %v; want an error naming the expression and saying %q", tt.expr, err, tt.want)
		}
	}
}

func TestRate(t *testing.T) {
	for expr, want := range map[string]time.Duration{"rate(1 minute)": time.Minute, "rate(5 minutes)": 5 * time.Minute, "rate(1 hour)": time.Hour, "rate(2 days)": 48 * time.Hour} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		if got, ok := e.Rate(); !ok || got != want || e.String() != expr {
			t.Errorf("Parse(%q).Rate() = %v, %t (String %q); want %v", expr, got, ok, e.String(), want)
		}
	}
	e, err := Parse("cron(0 10 * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Rate(); ok {
		t.Error("a cron expression's Rate() is ok; want false")
	}
}
