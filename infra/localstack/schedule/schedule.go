// Package schedule evaluates the schedule expressions of EventBridge rules (SAM's Schedule
// events) and EventBridge Scheduler (ScheduleV2) as AWS documents them, for the local stack's
// --schedules:
//
//   - rate(value unit): every value minutes, hours or days (the unit singular for 1, plural
//     otherwise, as AWS requires); a day is 24 hours, whatever the clocks do;
//   - cron(minutes hours day-of-month month day-of-week year): minutes 0-59, hours 0-23,
//     day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 is Sunday),
//     year 1970-2199; "*" (every value), "," (lists), "-" (ranges), "/" (increments: 0/15,
//     */15, 10-50/20; not in day-of-week), "?" (either day field, when the other gives the
//     day: exactly one of them must be "?"), "L" (the last day of the month; in day-of-week
//     alone Saturday, after a day the last such day of the month: 6L), "W" (the weekday
//     nearest a day of the month: 15W) and "#" (the nth such day of the month: 3#2, the
//     second Tuesday; alone in its field).
//
// A cron expression is evaluated on the wall clock of a time zone (ScheduleV2's
// ScheduleExpressionTimezone; UTC for rules), as EventBridge Scheduler does across daylight
// saving changes: a time the clocks skip does not fire, and a time they repeat fires once, at
// its first occurrence. Anything else ("L-3", "LW", a range that runs backwards, wrapping
// ranges) is refused with an error naming the field.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expression is a parsed schedule expression.
type Expression struct {
	text  string
	every time.Duration // a rate; 0 for cron
	cron  *cron
}

// Parse parses a rate(...) or cron(...) expression.
func Parse(expr string) (Expression, error) {
	e := Expression{text: expr}
	var err error
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		e.every, err = parseRate(strings.TrimSuffix(strings.TrimPrefix(expr, "rate("), ")"))
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		e.cron, err = parseCron(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
	default:
		err = errors.New("not rate(value unit) or cron(minutes hours day-of-month month day-of-week year)")
	}
	if err != nil {
		return Expression{}, fmt.Errorf("schedule expression %q: %w", expr, err)
	}
	return e, nil
}

// String returns the expression as written.
func (e Expression) String() string { return e.text }

// Rate returns the interval of a rate expression, and false for a cron expression.
func (e Expression) Rate() (time.Duration, bool) { return e.every, e.every > 0 }

// Next returns the first firing strictly after t: t plus the rate, or the first minute after t
// whose wall clock in loc (UTC when nil) the cron expression matches. It returns false when a
// cron expression never fires after t (its years are over, or its days never come).
func (e Expression) Next(t time.Time, loc *time.Location) (time.Time, bool) {
	if e.every > 0 {
		return t.Add(e.every), true
	}
	if e.cron == nil {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	return e.cron.next(t, loc)
}

func parseRate(s string) (time.Duration, error) {
	value, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	unit = strings.TrimSpace(unit)
	n, err := strconv.Atoi(value)
	if !ok || err != nil || n < 1 || strings.Contains(unit, " ") {
		return 0, errors.New("a rate is rate(value unit) with a whole number of at least 1: rate(5 minutes)")
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	singular := strings.TrimSuffix(unit, "s")
	d, known := units[singular]
	switch {
	case !known:
		return 0, fmt.Errorf("unit %q is not minute(s), hour(s) or day(s)", unit)
	case n == 1 && unit != singular:
		return 0, fmt.Errorf("rate(1 %s) must be rate(1 %s): the unit is singular for 1", unit, singular)
	case n > 1 && unit == singular:
		return 0, fmt.Errorf("rate(%d %s) must be rate(%d %ss): the unit is plural above 1", n, unit, n, unit)
	}
	return time.Duration(n) * d, nil
}

// cron is a parsed cron expression: the set of values of each field, and the day rules.
type cron struct {
	minutes, hours, months uint64 // bit i set: value i matches
	years                  map[int]bool
	allYears               bool
	dom                    dayOfMonth
	dow                    dayOfWeek
}

// dayOfMonth is the day-of-month field; any is "?".
type dayOfMonth struct {
	any     bool
	days    uint64 // bits 1-31
	last    bool   // L
	weekday int    // nW: the weekday nearest day n; 0 when not used
}

// dayOfWeek is the day-of-week field (1 Sunday ... 7 Saturday); any is "?".
type dayOfWeek struct {
	any          bool
	days         uint64 // bits 1-7
	last         int    // nL: the last day n of the month; 0 when not used
	nth, nthWeek int    // d#n: the nth day d of the month; 0 when not used
}

const (
	minYear = 1970
	maxYear = 2199
)

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames   = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

// field describes one cron field: its name, range, value names and the steps it allows.
type field struct {
	name     string
	min, max int
	names    map[string]int
	steps    bool
}

var (
	minuteField = field{"minutes", 0, 59, nil, true}
	hourField   = field{"hours", 0, 23, nil, true}
	domField    = field{"day-of-month", 1, 31, nil, true}
	monthField  = field{"month", 1, 12, monthNames, true}
	dowField    = field{"day-of-week", 1, 7, dayNames, false}
	yearField   = field{"year", minYear, maxYear, nil, true}
)

func parseCron(s string) (*cron, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, fmt.Errorf("a cron expression has 6 fields (minutes hours day-of-month month day-of-week year); this has %d", len(f))
	}
	c := &cron{}
	for _, p := range []struct {
		fd   field
		text string
		into *uint64
	}{{minuteField, f[0], &c.minutes}, {hourField, f[1], &c.hours}, {monthField, f[3], &c.months}} {
		set, err := p.fd.parse(p.text)
		if err != nil {
			return nil, err
		}
		*p.into = set.low()
	}
	var err error
	if c.dom, err = parseDayOfMonth(f[2]); err != nil {
		return nil, err
	}
	if c.dow, err = parseDayOfWeek(f[4]); err != nil {
		return nil, err
	}
	if f[5] == "*" {
		c.allYears = true
	} else {
		years, err := yearField.parse(f[5])
		if err != nil {
			return nil, err
		}
		c.years = map[int]bool{}
		for y := minYear; y <= maxYear; y++ {
			if years.has(y) {
				c.years[y] = true
			}
		}
	}
	if c.dom.any == c.dow.any {
		return nil, errors.New(`exactly one of day-of-month and day-of-week must be "?" (the other says which days)`)
	}
	return c, nil
}

// parse reads a field of values, ranges, steps and "*" into a set. Years need more than 64
// bits, so they come back as a bigSet.
func (fd field) parse(s string) (bigSet, error) {
	set := bigSet{}
	for _, item := range strings.Split(s, ",") {
		if err := fd.parseItem(item, set); err != nil {
			return nil, fmt.Errorf("%s %q: %w", fd.name, s, err)
		}
	}
	return set, nil
}

func (fd field) parseItem(item string, set bigSet) error {
	switch item {
	case "":
		return errors.New("an empty item in a list")
	case "?":
		return errors.New(`"?" is for day-of-month or day-of-week, alone in the field`)
	}
	base, stepText, stepped := strings.Cut(item, "/")
	step := 1
	if stepped {
		if !fd.steps {
			return fmt.Errorf(`"/" is not allowed in %s`, fd.name)
		}
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 {
			return fmt.Errorf("increment %q must be a whole number of at least 1", stepText)
		}
		step = n
	}
	lo, hi := fd.min, fd.max
	switch {
	case base == "*":
	case strings.Contains(base, "-"):
		a, b, _ := strings.Cut(base, "-")
		var err error
		if lo, err = fd.value(a); err != nil {
			return err
		}
		if hi, err = fd.value(b); err != nil {
			return err
		}
		if lo > hi {
			return fmt.Errorf("range %s runs backwards (ranges do not wrap around)", base)
		}
	default:
		v, err := fd.value(base)
		if err != nil {
			return err
		}
		lo = v
		if !stepped {
			hi = v
		}
	}
	for v := lo; v <= hi; v += step {
		set.add(v)
	}
	return nil
}

// value reads one value of the field: a number in its range or one of its names.
func (fd field) value(s string) (int, error) {
	if v, ok := fd.names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < fd.min || v > fd.max {
		if fd.names != nil {
			return 0, fmt.Errorf("%q is not %d-%d or a name such as %s", s, fd.min, fd.max, exampleName(fd.names))
		}
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, fd.min, fd.max)
	}
	return v, nil
}

func exampleName(names map[string]int) string {
	if _, ok := names["JAN"]; ok {
		return "JAN"
	}
	return "MON"
}

func parseDayOfMonth(s string) (dayOfMonth, error) {
	switch {
	case s == "?":
		return dayOfMonth{any: true}, nil
	case s == "L":
		return dayOfMonth{last: true}, nil
	case strings.HasSuffix(s, "W"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "W"))
		if err != nil || n < 1 || n > 31 {
			return dayOfMonth{}, fmt.Errorf(`day-of-month %q: W follows one day (15W: the weekday nearest the 15th); "LW" and lists with W are not supported`, s)
		}
		return dayOfMonth{weekday: n}, nil
	case strings.Contains(s, "L") || strings.Contains(s, "W"):
		return dayOfMonth{}, fmt.Errorf(`day-of-month %q: L and W stand alone (L, 15W); "L-3", "LW" and lists with them are not supported`, s)
	}
	days, err := domField.parse(s)
	if err != nil {
		return dayOfMonth{}, err
	}
	return dayOfMonth{days: days.low()}, nil
}

func parseDayOfWeek(s string) (dayOfWeek, error) {
	switch {
	case s == "?":
		return dayOfWeek{any: true}, nil
	case s == "L":
		return dayOfWeek{days: 1 << 7}, nil // the last day of the week: Saturday
	case strings.Contains(s, "#"):
		d, n, _ := strings.Cut(s, "#")
		day, err := dowField.value(d)
		if err != nil {
			return dayOfWeek{}, fmt.Errorf("day-of-week %q: %w", s, err)
		}
		week, err := strconv.Atoi(n)
		if err != nil || week < 1 || week > 5 {
			return dayOfWeek{}, fmt.Errorf(`day-of-week %q: # is day#n, n from 1 to 5 (3#2: the second Tuesday), alone in the field`, s)
		}
		return dayOfWeek{nth: day, nthWeek: week}, nil
	case strings.HasSuffix(s, "L"):
		day, err := dowField.value(strings.TrimSuffix(s, "L"))
		if err != nil || strings.Contains(s, ",") {
			return dayOfWeek{}, fmt.Errorf(`day-of-week %q: L follows one day (6L: the last Friday of the month), alone in the field`, s)
		}
		return dayOfWeek{last: day}, nil
	case strings.Contains(s, "L"):
		return dayOfWeek{}, fmt.Errorf(`day-of-week %q: L stands alone or after one day (L, 6L)`, s)
	}
	days, err := dowField.parse(s)
	if err != nil {
		return dayOfWeek{}, err
	}
	return dayOfWeek{days: days.low()}, nil
}

// bigSet is a set of small non-negative numbers (up to the years' 2199).
type bigSet map[int]bool

func (b bigSet) add(v int)      { b[v] = true }
func (b bigSet) has(v int) bool { return b[v] }

// low returns the members below 64 as a bit set.
func (b bigSet) low() uint64 {
	var bits uint64
	for v := range b {
		if v < 64 {
			bits |= 1 << v
		}
	}
	return bits
}

func (c *cron) next(t time.Time, loc *time.Location) (time.Time, bool) {
	start := t.In(loc)
	for y := start.Year(); y <= maxYear; y++ {
		if !c.allYears && !c.years[y] {
			continue
		}
		for m := time.January; m <= time.December; m++ {
			if y == start.Year() && m < start.Month() || c.months&(1<<m) == 0 {
				continue
			}
			for d := 1; d <= daysIn(y, m); d++ {
				if y == start.Year() && m == start.Month() && d < start.Day() || !c.dayMatches(y, m, d) {
					continue
				}
				if at, ok := c.firstOnDay(y, m, d, t, loc); ok {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}

// firstOnDay returns the first firing on day y-m-d of loc strictly after t.
func (c *cron) firstOnDay(y int, m time.Month, d int, t time.Time, loc *time.Location) (time.Time, bool) {
	for h := 0; h < 24; h++ {
		if c.hours&(1<<h) == 0 {
			continue
		}
		for mi := 0; mi < 60; mi++ {
			if c.minutes&(1<<mi) == 0 {
				continue
			}
			at, ok := wallTime(y, m, d, h, mi, loc)
			if ok && at.After(t) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}

// wallTime returns the first instant at which loc's clocks show y-m-d h:mi, or false when they
// skip it (the hour a daylight saving change leaves out). A time the clocks show twice (the
// hour they go back) is its first occurrence: EventBridge Scheduler fires it once.
func wallTime(y int, m time.Month, d, h, mi int, loc *time.Location) (time.Time, bool) {
	at := time.Date(y, m, d, h, mi, 0, 0, loc)
	shows := func(t time.Time) bool {
		t = t.In(loc)
		return t.Year() == y && t.Month() == m && t.Day() == d && t.Hour() == h && t.Minute() == mi
	}
	if !shows(at) {
		return time.Time{}, false
	}
	for _, back := range []time.Duration{3 * time.Hour, 2 * time.Hour, time.Hour, 30 * time.Minute} {
		if earlier := at.Add(-back); shows(earlier) {
			return earlier, true
		}
	}
	return at, true
}

func (c *cron) dayMatches(y int, m time.Month, d int) bool {
	last := daysIn(y, m)
	if !c.dom.any {
		switch {
		case c.dom.last:
			return d == last
		case c.dom.weekday > 0:
			return d == nearestWeekday(y, m, c.dom.weekday)
		}
		return c.dom.days&(1<<d) != 0
	}
	w := int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 Sunday ... 7 Saturday
	switch {
	case c.dow.last > 0:
		return w == c.dow.last && d+7 > last
	case c.dow.nth > 0:
		return w == c.dow.nth && (d-1)/7+1 == c.dow.nthWeek
	}
	return c.dow.days&(1<<w) != 0
}

// nearestWeekday returns the weekday (Monday to Friday) of month y-m nearest day n, without
// leaving the month (1W on a Saturday is Monday the 3rd), or 0 when the month has no day n.
func nearestWeekday(y int, m time.Month, n int) int {
	last := daysIn(y, m)
	if n > last {
		return 0
	}
	switch time.Date(y, m, n, 12, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}
