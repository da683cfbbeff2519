package directory

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sectorhub/shared/apperr"
)

// Limits and defaults of a search request.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
	MaxPage        = 10000 // deeper pages are refused rather than computed
	MaxQueryLength = 200   // characters of q
)

// Query is a parsed search request.
type Query struct {
	// Text is the words to look for. Every word must match; the last word also matches as the
	// start of a longer word unless Text ends with a space (the searcher has finished the word).
	Text string
	// Filters maps a List.Param to the slugs selected: an organisation matches a parameter if
	// it has any of its slugs, and must match every parameter.
	Filters map[string][]string
	// LivedExperience keeps only organisations that involve people with lived experience
	// (FlagYes), only those that do not (FlagNo), or both (FlagAny).
	LivedExperience FlagFilter
	// Page is 1-based; PerPage is the number of organisations in a page. Search takes values
	// below 1 as the defaults.
	Page, PerPage int
}

// FlagFilter is a search condition on a yes/no field of organisations. The zero value sets no
// condition.
type FlagFilter int8

// The conditions a FlagFilter can set.
const (
	FlagAny FlagFilter = iota // every organisation, whatever the field says
	FlagYes                   // only organisations whose field is true
	FlagNo                    // only organisations whose field is false
)

// Parameters of a search request other than the vocabularies' (List.Param).
const (
	paramText            = "q"
	paramLivedExperience = "lived_experience"
	paramPage            = "page"
	paramPerPage         = "per_page"
)

// ParseQuery parses the query parameters of a search request: q, one parameter per vocabulary
// (area, client_group, region, setting; repeated or comma-separated, slugs or labels),
// lived_experience (any spelling the CSV accepts: true/false, yes/no, y/n, 1/0, in any case),
// page and per_page. An empty value counts as not given, as HTML forms send empty fields. Every
// problem is an *apperr.Error with code apperr.Invalid and a message fit for the client.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Filters: map[string][]string{}, Page: 1, PerPage: DefaultPerPage}
	for key, vals := range v {
		if !utf8.ValidString(key) {
			return Query{}, apperr.Errorf(apperr.Invalid, "the query string is not valid UTF-8 text")
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return Query{}, apperr.Errorf(apperr.Invalid, "the query string is not valid UTF-8 text")
			}
		}
	}
	keys := make([]string, 0, len(v))
	for key := range v {
		keys = append(keys, key)
	}
	slices.Sort(keys) // the same request always gets the same error
	for _, key := range keys {
		vals := v[key]
		if l, ok := listByParam(key); ok {
			slugs, err := parseTerms(l, vals)
			if err != nil {
				return Query{}, err
			}
			if len(slugs) > 0 {
				q.Filters[key] = slugs
			}
			continue
		}
		switch key {
		case paramText, paramLivedExperience, paramPage, paramPerPage:
		default:
			return Query{}, apperr.Errorf(apperr.Invalid, "unknown parameter %s", quote(key))
		}
		if len(vals) > 1 {
			return Query{}, apperr.Errorf(apperr.Invalid, "%s must be given only once", key)
		}
		s := ""
		if len(vals) == 1 {
			s = strings.TrimSpace(vals[0])
		}
		if s == "" {
			continue
		}
		switch key {
		case paramText:
			if utf8.RuneCountInString(vals[0]) > MaxQueryLength {
				return Query{}, apperr.Errorf(apperr.Invalid, "q must be at most %d characters", MaxQueryLength)
			}
			q.Text = vals[0]
		case paramLivedExperience:
			yes, ok := parseFlag(s)
			if !ok {
				return Query{}, apperr.Errorf(apperr.Invalid, "lived_experience must be true or false (or yes/no, y/n, 1/0)")
			}
			q.LivedExperience = FlagNo
			if yes {
				q.LivedExperience = FlagYes
			}
		case paramPage:
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > MaxPage {
				return Query{}, apperr.Errorf(apperr.Invalid, "page must be a whole number between 1 and %d", MaxPage)
			}
			q.Page = n
		case paramPerPage:
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > MaxPerPage {
				return Query{}, apperr.Errorf(apperr.Invalid, "per_page must be between 1 and %d", MaxPerPage)
			}
			q.PerPage = n
		}
	}
	return q, nil
}

func listByParam(param string) (List, bool) {
	for _, l := range Lists() {
		if l.Param == param {
			return l, true
		}
	}
	return List{}, false
}

// parseTerms turns the values of one vocabulary parameter into slugs in vocabulary order.
// A value may hold several terms separated by commas; a label that itself contains a comma
// ("Attitudes, thinking and behaviour") is recognised whole first.
func parseTerms(l List, vals []string) ([]string, error) {
	var mask uint32
	for _, v := range vals {
		if slug, ok := l.Lookup(v); ok {
			mask |= 1 << l.index(slug)
			continue
		}
		for item := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			slug, ok := l.Lookup(item)
			if !ok {
				return nil, apperr.Errorf(apperr.Invalid, "unknown %s %s", l.noun, quote(strings.TrimSpace(item)))
			}
			mask |= 1 << l.index(slug)
		}
	}
	return slugs(l, mask), nil
}
