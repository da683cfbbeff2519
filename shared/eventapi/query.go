package eventapi

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sectorhub/shared/apperr"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/event"
)

// Limits of GET /events.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	maxPage        = 1000
)

// ListQuery is a parsed GET /events request. From and To are calendar dates in UK time; an
// event is listed when it overlaps them.
type ListQuery struct {
	From, To      time.Time // midnight UK time; To is the day after the last day asked for
	Types         []string
	Themes        []string
	Regions       []string
	Online        *bool
	Page, PerPage int
}

// uk is the zone dates in queries are read in.
var uk = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked by package event
	}
	return loc
}

// ParseListQuery parses the parameters of GET /events: from and to (YYYY-MM-DD), type, theme
// and region (repeated or comma-separated), online (true or false), page and per_page. An
// empty value counts as not given; an unknown parameter is an error, so that a typo does not
// silently list everything.
func ParseListQuery(v url.Values) (ListQuery, error) {
	q := ListQuery{Page: 1, PerPage: defaultPerPage}
	keys := make([]string, 0, len(v))
	for key, vals := range v {
		if !utf8.ValidString(key) || slices.ContainsFunc(vals, func(s string) bool { return !utf8.ValidString(s) }) {
			return ListQuery{}, apperr.Errorf(apperr.Invalid, "the query string is not valid UTF-8 text")
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		vals := v[key]
		var err error
		switch key {
		case "type":
			q.Types, err = eventTypes(vals)
		case "theme":
			q.Themes, err = casestudy.Terms(vals, "theme", casestudy.LookupTheme, casestudy.SortThemes)
		case "region":
			q.Regions, err = casestudy.Terms(vals, "region", casestudy.LookupRegion, casestudy.SortRegions)
		case "from", "to", "online", "page", "per_page":
			err = q.single(key, vals)
		default:
			err = apperr.Errorf(apperr.Invalid, "unknown parameter %s; GET /events takes from, to, type, theme, region, online, page and per_page", quote(key))
		}
		if err != nil {
			return ListQuery{}, err
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return ListQuery{}, apperr.Errorf(apperr.Invalid, "to must be the same day as from or later")
	}
	return q, nil
}

func (q *ListQuery) single(key string, vals []string) error {
	if len(vals) > 1 {
		return apperr.Errorf(apperr.Invalid, "%s must be given only once", key)
	}
	s := ""
	if len(vals) == 1 {
		s = strings.TrimSpace(vals[0])
	}
	if s == "" {
		return nil
	}
	switch key {
	case "from", "to":
		d, err := time.ParseInLocation("2006-01-02", s, uk)
		if err != nil {
			return apperr.Errorf(apperr.Invalid, "%s must be a date written YYYY-MM-DD, such as 2026-12-11", key)
		}
		if key == "from" {
			q.From = d
		} else {
			q.To = d.AddDate(0, 0, 1)
		}
	case "online":
		b, err := strconv.ParseBool(s)
		if err != nil || (s != "true" && s != "false") {
			return apperr.Errorf(apperr.Invalid, "online must be true or false")
		}
		q.Online = &b
	case "page":
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			return apperr.Errorf(apperr.Invalid, "page must be a whole number between 1 and %d", maxPage)
		}
		q.Page = n
	case "per_page":
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPerPage {
			return apperr.Errorf(apperr.Invalid, "per_page must be between 1 and %d", maxPerPage)
		}
		q.PerPage = n
	}
	return nil
}

func eventTypes(vals []string) ([]string, error) {
	var types []string
	for _, v := range vals {
		for item := range strings.SplitSeq(v, ",") {
			t := strings.ToLower(strings.TrimSpace(item))
			if t == "" {
				continue
			}
			if !slices.Contains(event.Types, t) {
				return nil, apperr.Errorf(apperr.Invalid, "unknown type %s; types are %s", quote(t), strings.Join(event.Types, ", "))
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	return types, nil
}

// Matches reports whether ev is selected by q (its dates, type, themes, regions, online).
func (q ListQuery) Matches(ev *event.Event) bool {
	if !q.From.IsZero() && !ev.EndsAt.After(q.From) {
		return false
	}
	if !q.To.IsZero() && !ev.StartsAt.Before(q.To) {
		return false
	}
	if len(q.Types) > 0 && !slices.Contains(q.Types, ev.Type) {
		return false
	}
	if len(q.Themes) > 0 && !slices.ContainsFunc(q.Themes, func(t string) bool { return slices.Contains(ev.Themes, t) }) {
		return false
	}
	if len(q.Regions) > 0 && !slices.ContainsFunc(q.Regions, func(r string) bool { return slices.Contains(ev.Regions, r) }) {
		return false
	}
	if q.Online != nil && ev.Location.Online != *q.Online {
		return false
	}
	return true
}

// quote quotes s for an error message, shortened if long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
