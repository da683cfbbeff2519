package openreferral

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
)

// PageQuery is the page a list request asks for: Page is 1-based, PerPage the items in a page.
// The limits and defaults are the directory search's.
type PageQuery struct {
	Page, PerPage int
}

// TermsQuery is a request for taxonomy terms: all of them, or one taxonomy's (TaxonomyID,
// canonical).
type TermsQuery struct {
	PageQuery
	TaxonomyID string
}

// ServicesQuery is a request for services. Search has directory search's q as Text (the same
// words find the same organisations) and the taxonomy parameters as its Filters: a
// taxonomy_term_id selects its term's slug, a taxonomy_id every term of its vocabulary, and
// both must hold. OrganizationID, if set, keeps only that organization's service.
type ServicesQuery struct {
	Search         directory.Query
	OrganizationID string
	// None is set when the parameters cannot all hold (a term outside the taxonomy given).
	None bool
}

// Parameters of the feed.
const (
	paramSearch         = "search"
	paramPage           = "page"
	paramPerPage        = "per_page"
	paramTaxonomyTermID = "taxonomy_term_id"
	paramTaxonomyID     = "taxonomy_id"
	paramOrganizationID = "organization_id"
)

// unsupported are the profile's list parameters the feed does not offer: the directory has no
// ages, opening times or locations, and lists are always paged JSON. Naming them in the error
// tells a consumer that the parameter was understood, not mistyped.
var unsupported = []string{"minimum_age", "maximum_age", "start_time", "end_time", "day", "postcode", "proximity", "modified_after", "minimal", "full", "full_service", "format"}

// params checks v's names against allowed and returns each given value, trimmed; a parameter
// given empty counts as not given. Every problem is an apperr.Invalid fit for the client.
func params(v url.Values, allowed ...string) (map[string]string, error) {
	keys := make([]string, 0, len(v))
	for key, vals := range v {
		if !utf8.ValidString(key) {
			return nil, apperr.Errorf(apperr.Invalid, "the query string is not valid UTF-8 text")
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return nil, apperr.Errorf(apperr.Invalid, "the query string is not valid UTF-8 text")
			}
		}
		keys = append(keys, key)
	}
	slices.Sort(keys) // the same request always gets the same error
	out := make(map[string]string, len(keys))
	for _, key := range keys {
		switch {
		case slices.Contains(allowed, key):
		case slices.Contains(unsupported, key):
			return nil, apperr.Errorf(apperr.Invalid, "%s is not supported by this feed", key)
		default:
			return nil, apperr.Errorf(apperr.Invalid, "unknown parameter %s", quote(key))
		}
		vals := v[key]
		if len(vals) > 1 {
			return nil, apperr.Errorf(apperr.Invalid, "%s must be given only once", key)
		}
		if key == paramSearch {
			// Kept as typed: a trailing space says the last word is finished (see directory.Query).
			if strings.TrimSpace(vals[0]) != "" {
				out[key] = vals[0]
			}
			continue
		}
		if s := strings.TrimSpace(vals[0]); s != "" {
			out[key] = s
		}
	}
	return out, nil
}

// pageQuery reads page and per_page from p.
func pageQuery(p map[string]string) (PageQuery, error) {
	q := PageQuery{Page: 1, PerPage: directory.DefaultPerPage}
	if s, ok := p[paramPage]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > directory.MaxPage {
			return PageQuery{}, apperr.Errorf(apperr.Invalid, "page must be a whole number between 1 and %d", directory.MaxPage)
		}
		q.Page = n
	}
	if s, ok := p[paramPerPage]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > directory.MaxPerPage {
			return PageQuery{}, apperr.Errorf(apperr.Invalid, "per_page must be between 1 and %d", directory.MaxPerPage)
		}
		q.PerPage = n
	}
	return q, nil
}

// ParsePageQuery parses the parameters of GET /taxonomies: page and per_page.
func ParsePageQuery(v url.Values) (PageQuery, error) {
	p, err := params(v, paramPage, paramPerPage)
	if err != nil {
		return PageQuery{}, err
	}
	return pageQuery(p)
}

// ParseTermsQuery parses the parameters of GET /taxonomy_terms: taxonomy_id, page, per_page.
// A taxonomy_id that is not one of the feed's taxonomies is an error, as an unknown term is in
// directory search.
func ParseTermsQuery(v url.Values) (TermsQuery, error) {
	p, err := params(v, paramTaxonomyID, paramPage, paramPerPage)
	if err != nil {
		return TermsQuery{}, err
	}
	pq, err := pageQuery(p)
	if err != nil {
		return TermsQuery{}, err
	}
	q := TermsQuery{PageQuery: pq}
	if s, ok := p[paramTaxonomyID]; ok {
		t, err := lookupTaxonomy(s)
		if err != nil {
			return TermsQuery{}, err
		}
		q.TaxonomyID = t.ID
	}
	return q, nil
}

// ParseServicesQuery parses the parameters of GET /services: search (at most
// directory.MaxQueryLength characters), taxonomy_term_id, taxonomy_id, organization_id, page
// and per_page. An unknown taxonomy or term is an error; an organization_id that is a UUID
// but no organization's matches nothing.
func ParseServicesQuery(v url.Values) (ServicesQuery, error) {
	p, err := params(v, paramSearch, paramTaxonomyTermID, paramTaxonomyID, paramOrganizationID, paramPage, paramPerPage)
	if err != nil {
		return ServicesQuery{}, err
	}
	pq, err := pageQuery(p)
	if err != nil {
		return ServicesQuery{}, err
	}
	q := ServicesQuery{Search: directory.Query{Filters: map[string][]string{}, Page: pq.Page, PerPage: pq.PerPage}}
	if s, ok := p[paramSearch]; ok {
		if utf8.RuneCountInString(s) > directory.MaxQueryLength {
			return ServicesQuery{}, apperr.Errorf(apperr.Invalid, "search must be at most %d characters", directory.MaxQueryLength)
		}
		q.Search.Text = s
	}
	if s, ok := p[paramTaxonomyID]; ok {
		t, err := lookupTaxonomy(s)
		if err != nil {
			return ServicesQuery{}, err
		}
		slugs := make([]string, 0, len(t.list.Terms))
		for _, term := range t.list.Terms {
			slugs = append(slugs, term.Slug)
		}
		q.Search.Filters[t.list.Param] = slugs
	}
	if s, ok := p[paramTaxonomyTermID]; ok {
		c, ok := canonicalUUID(s)
		ref, known := vocabulary().termOf[c]
		if !ok || !known {
			return ServicesQuery{}, apperr.Errorf(apperr.Invalid, "unknown taxonomy_term_id %s", quote(s))
		}
		// With taxonomy_id too, both hold: the term, if it is in that taxonomy; else nothing.
		if sel, ok := q.Search.Filters[ref.list.Param]; ok && !slices.Contains(sel, ref.slug) {
			q.None = true
		}
		q.Search.Filters[ref.list.Param] = []string{ref.slug}
	}
	if s, ok := p[paramOrganizationID]; ok {
		c, ok := canonicalUUID(s)
		if !ok {
			return ServicesQuery{}, apperr.Errorf(apperr.Invalid, "organization_id must be a UUID")
		}
		q.OrganizationID = c
	}
	return q, nil
}

// lookupTaxonomy returns the taxonomy s names, or an apperr.Invalid.
func lookupTaxonomy(s string) (taxonomy, error) {
	c, ok := canonicalUUID(s)
	if ok {
		if t, ok := vocabulary().taxonomyByID(c); ok {
			return t, nil
		}
	}
	return taxonomy{}, apperr.Errorf(apperr.Invalid, "unknown taxonomy_id %s", quote(s))
}

// quote returns s quoted for a message, cut to 40 characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
