package casestudy

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
)

// Limits and defaults of a list request: the directory's search's.
const (
	DefaultPerPage = directory.DefaultPerPage
	MaxPerPage     = directory.MaxPerPage
	MaxPage        = directory.MaxPage
	MaxQueryLength = directory.MaxQueryLength // characters of q
	maxWords       = 32                       // query words beyond this many are ignored (as the directory's)
)

// Query is a parsed list request. Themes, Regions and Organisations each select case studies
// with any of their values (OR); different lists must all match (AND). Empty lists select all.
type Query struct {
	// Text is the words to look for in the title, summary and body: every word must match; the
	// last also as the start of a longer word unless Text ends with a space.
	Text          string
	Themes        []string // theme slugs
	Regions       []string // region slugs
	Organisations []string // directory ids
	Page, PerPage int
}

// Parameters of the list route.
const (
	paramText         = "q"
	paramTheme        = "theme"
	paramRegion       = "region"
	paramOrganisation = "organisation"
	paramPage         = "page"
	paramPerPage      = "per_page"
)

// ParseQuery parses the query parameters of GET /case-studies: q, theme and region (slugs or
// labels, repeated or comma-separated), organisation (directory ids, likewise), page and
// per_page. An empty value counts as not given. Every problem is an *apperr.Error with code
// apperr.Invalid and a message fit for the client.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Page: 1, PerPage: DefaultPerPage}
	keys := make([]string, 0, len(v))
	for key, vals := range v {
		if !utf8.ValidString(key) || slices.ContainsFunc(vals, func(s string) bool { return !utf8.ValidString(s) }) {
			return Query{}, apperr.Errorf(apperr.Invalid, "the query string is not valid UTF-8 text")
		}
		keys = append(keys, key)
	}
	slices.Sort(keys) // the same request always gets the same error
	for _, key := range keys {
		vals := v[key]
		var err error
		switch key {
		case paramTheme:
			q.Themes, err = Terms(vals, "theme", LookupTheme, SortThemes)
		case paramRegion:
			q.Regions, err = Terms(vals, "region", LookupRegion, SortRegions)
		case paramOrganisation:
			q.Organisations, err = organisations(vals)
		case paramText, paramPage, paramPerPage:
			err = q.single(key, vals)
		default:
			err = apperr.Errorf(apperr.Invalid, "unknown parameter %s", quote(key))
		}
		if err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

// single parses a parameter that is given at most once.
func (q *Query) single(key string, vals []string) error {
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
	case paramText:
		if utf8.RuneCountInString(vals[0]) > MaxQueryLength {
			return apperr.Errorf(apperr.Invalid, "q must be at most %d characters", MaxQueryLength)
		}
		q.Text = vals[0]
	case paramPage:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPage {
			return apperr.Errorf(apperr.Invalid, "page must be a whole number between 1 and %d", MaxPage)
		}
		q.Page = n
	case paramPerPage:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPerPage {
			return apperr.Errorf(apperr.Invalid, "per_page must be between 1 and %d", MaxPerPage)
		}
		q.PerPage = n
	}
	return nil
}

// Terms turns the values of a vocabulary parameter into slugs in vocabulary order (the
// events list reads its theme and region parameters the same way). A value may
// hold several terms separated by commas; a label that itself holds a comma ("Attitudes,
// thinking and behaviour") is recognised whole first.
func Terms(vals []string, noun string, lookup func(string) (string, bool), sort func([]string) []string) ([]string, error) {
	var slugs []string
	for _, v := range vals {
		if slug, ok := lookup(v); ok {
			slugs = append(slugs, slug)
			continue
		}
		for item := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			slug, ok := lookup(item)
			if !ok {
				return nil, apperr.Errorf(apperr.Invalid, "unknown %s %s", noun, quote(strings.TrimSpace(item)))
			}
			slugs = append(slugs, slug)
		}
	}
	if len(slugs) == 0 {
		return nil, nil
	}
	return sort(slugs), nil
}

func organisations(vals []string) ([]string, error) {
	var ids []string
	for _, v := range vals {
		for item := range strings.SplitSeq(v, ",") {
			id := strings.TrimSpace(item)
			if id == "" {
				continue
			}
			if !ValidOrganisationID(id) {
				return nil, apperr.Errorf(apperr.Invalid, "organisation %s is not a directory id (letters, digits, - and _, at most 64)", quote(id))
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// quote quotes s for an error message, shortened if long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
