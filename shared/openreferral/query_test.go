package openreferral_test

import (
	"net/url"
	"slices"
	"testing"

	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
	"sectorhub/shared/openreferral"
)

func TestParseServicesQueryErrors(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"unknown parameter", "serach=x"},
		{"directory's q is not the feed's", "q=housing"},
		{"unsupported profile parameter", "minimum_age=18"},
		{"page zero", "page=0"},
		{"page too deep", "page=10001"},
		{"page not a number", "page=two"},
		{"per_page too large", "per_page=101"},
		{"per_page zero", "per_page=0"},
		{"repeated search", "search=a&search=b"},
		{"search too long", "search=" + string(make([]byte, 0)) + repeat("a", 201)},
		{"term not a UUID", "taxonomy_term_id=mentoring"},
		{"unknown term", "taxonomy_term_id=" + openreferral.ServiceID("x")},
		{"taxonomy id of a term", "taxonomy_id=" + openreferral.TaxonomyTermID(directory.Areas.Column, "mentoring")},
		{"regions are no taxonomy", "taxonomy_id=" + openreferral.TaxonomyID(directory.Regions.Column)},
		{"organization not a UUID", "organization_id=acme"},
		{"invalid UTF-8", "search=%ff"},
	} {
		_, err := openreferral.ParseServicesQuery(mustParse(t, tc.raw))
		if apperr.Code(err) != apperr.Invalid || apperr.Message(err) == "" {
			t.Errorf("%s: ParseServicesQuery(%q) = %v; want an invalid_parameter error", tc.name, tc.raw, err)
		}
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, n*len(s))
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

func TestParseServicesQuery(t *testing.T) {
	mentoring := openreferral.TaxonomyTermID(directory.Areas.Column, "mentoring")
	prison := openreferral.TaxonomyTermID(directory.Settings.Column, "prison")
	areas := openreferral.TaxonomyID(directory.Areas.Column)
	settings := openreferral.TaxonomyID(directory.Settings.Column)
	org := openreferral.OrganizationID("acme")
	for _, tc := range []struct {
		name, raw    string
		text         string
		filters      map[string][]string
		page, per    int
		organization string
		none         bool
	}{
		{name: "defaults", raw: "", page: 1, per: 20},
		{name: "empty values are not given", raw: "search=&page=&per_page=", page: 1, per: 20},
		{name: "search kept as typed", raw: "search=women%27s+", text: "women's ", page: 1, per: 20},
		{name: "page and per_page", raw: "page=3&per_page=50", page: 3, per: 50},
		{name: "term", raw: "taxonomy_term_id=" + mentoring, filters: map[string][]string{"area": {"mentoring"}}, page: 1, per: 20},
		{name: "term in upper case", raw: "taxonomy_term_id=" + upper(mentoring), filters: map[string][]string{"area": {"mentoring"}}, page: 1, per: 20},
		{name: "taxonomy", raw: "taxonomy_id=" + settings, filters: map[string][]string{"setting": {"prison", "community", "through-the-gate", "courts", "police-custody"}}, page: 1, per: 20},
		{name: "term within its taxonomy", raw: "taxonomy_id=" + areas + "&taxonomy_term_id=" + mentoring, filters: map[string][]string{"area": {"mentoring"}}, page: 1, per: 20},
		{name: "term of another taxonomy", raw: "taxonomy_id=" + areas + "&taxonomy_term_id=" + prison, filters: map[string][]string{"area": allSlugs(directory.Areas), "setting": {"prison"}}, page: 1, per: 20},
		{name: "organization", raw: "organization_id=" + org, organization: org, page: 1, per: 20},
	} {
		q, err := openreferral.ParseServicesQuery(mustParse(t, tc.raw))
		if err != nil {
			t.Errorf("%s: ParseServicesQuery(%q): %v", tc.name, tc.raw, err)
			continue
		}
		if q.Search.Text != tc.text || q.Search.Page != tc.page || q.Search.PerPage != tc.per || q.OrganizationID != tc.organization || q.None != tc.none || !sameFilters(q.Search.Filters, tc.filters) {
			t.Errorf("%s: ParseServicesQuery(%q) = %+v; want text %q, filters %v, page %d/%d, organization %q", tc.name, tc.raw, q, tc.text, tc.filters, tc.page, tc.per, tc.organization)
		}
	}
	// A term outside the taxonomy given cannot hold with it, unless the taxonomy is its own.
	q, err := openreferral.ParseServicesQuery(mustParse(t, "taxonomy_id="+settings+"&taxonomy_term_id="+mentoring))
	if err != nil || q.None {
		t.Errorf("settings taxonomy and the mentoring term = %+v, %v; want both filters", q, err)
	}
}

func TestParseTermsQuery(t *testing.T) {
	areas := openreferral.TaxonomyID(directory.Areas.Column)
	q, err := openreferral.ParseTermsQuery(mustParse(t, "taxonomy_id="+upper(areas)+"&per_page=5"))
	if err != nil || q.TaxonomyID != areas || q.PerPage != 5 || q.Page != 1 {
		t.Errorf("ParseTermsQuery = %+v, %v; want taxonomy %s, 5 per page", q, err, areas)
	}
	for _, raw := range []string{"taxonomy_id=nope", "search=x", "page=-1"} {
		if _, err := openreferral.ParseTermsQuery(mustParse(t, raw)); apperr.Code(err) != apperr.Invalid {
			t.Errorf("ParseTermsQuery(%q) = %v; want invalid_parameter", raw, err)
		}
	}
	if _, err := openreferral.ParsePageQuery(mustParse(t, "taxonomy_id="+areas)); apperr.Code(err) != apperr.Invalid {
		t.Errorf("ParsePageQuery(taxonomy_id) = %v; want invalid_parameter (taxonomies take only paging)", err)
	}
}

func allSlugs(l directory.List) []string {
	var s []string
	for _, t := range l.Terms {
		s = append(s, t.Slug)
	}
	return s
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func sameFilters(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			return false
		}
	}
	return true
}

// FuzzParseServicesQuery: any query string is parsed or refused with a client error, never a
// panic, and an accepted query is within the limits.
func FuzzParseServicesQuery(f *testing.F) {
	for _, s := range []string{
		"", "search=housing&per_page=50", "page=2", "taxonomy_term_id=" + openreferral.TaxonomyTermID(directory.Areas.Column, "mentoring"),
		"taxonomy_id=" + openreferral.TaxonomyID(directory.Settings.Column) + "&organization_id=" + openreferral.OrganizationID("x"),
		"search=%ff", "page=99999999999999999999", "per_page=-1", "a=1&a=2", "search=" + repeat("é", 300), "minimal=true",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := openreferral.ParseServicesQuery(v)
		if err != nil {
			if apperr.Code(err) != apperr.Invalid {
				t.Fatalf("ParseServicesQuery(%q) = %v; want an invalid_parameter error", raw, err)
			}
			return
		}
		if q.Search.Page < 1 || q.Search.Page > directory.MaxPage || q.Search.PerPage < 1 || q.Search.PerPage > directory.MaxPerPage {
			t.Fatalf("ParseServicesQuery(%q) = page %d/%d; out of limits", raw, q.Search.Page, q.Search.PerPage)
		}
		if _, err := openreferral.ParseTermsQuery(v); err != nil && apperr.Code(err) != apperr.Invalid {
			t.Fatalf("ParseTermsQuery(%q) = %v", raw, err)
		}
	})
}
