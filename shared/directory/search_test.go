package directory_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

// testOrgs is a small directory whose texts exercise the matching rules.
func testOrgs() []directory.Organisation {
	mk := func(id, name, summary, description string, areas, groups, regions, settings []string, lived bool) directory.Organisation {
		return directory.Organisation{
			ID: id, Name: name, Summary: summary, Description: description,
			AreasOfWork: areas, ClientGroups: groups, Regions: regions, Settings: settings, LivedExperience: lived,
		}
	}
	l := func(s ...string) []string { return s }
	return []directory.Organisation{
		mk("anchor", "Anchor Housing", "Homes for people leaving prison.", "We help with tenancies.",
			l("accommodation"), nil, l("london"), l("community"), true),
		mk("cafe", "Café Literacy", "Reading groups.", "Books and reading in prison for people of all ages.",
			l("arts-culture", "education-training-employment"), nil, l("north-west"), l("prison"), false),
		mk("womens", "Women's Centre North", "A centre for women.", "Drop in any weekday.",
			l("emotional-support"), l("women"), l("north-west"), l("community"), true),
		mk("mentoring", "Mentoring Matters", "Mentoring for young adults.", "Our mentors also support housing applications.",
			l("mentoring"), l("young-adults"), l("london", "north-west"), l("community", "prison"), false),
		mk("zebra", "zebra trust", "Family support.", "We support families with visits.",
			l("family-support"), l("families"), l("national"), l("prison"), false),
		mk("eclair", "Éclair Project", "Housing advice in the capital.", "Advice on rent arrears.",
			l("advice-advocacy"), nil, l("london"), l("courts"), false),
		mk("twin-2", "Twin", "Second of two twins.", "", nil, nil, l("wales"), nil, false),
		mk("twin-1", "Twin", "First of two twins.", "", nil, nil, l("wales"), nil, false),
	}
}

func ids(orgs []directory.Organisation) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
	}
	return out
}

// search parses a raw query string and searches ix, failing tb if the query is invalid.
func search(tb testing.TB, ix *directory.Index, raw string) directory.Result {
	tb.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		tb.Fatal(err)
	}
	q, err := directory.ParseQuery(v)
	if err != nil {
		tb.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return ix.Search(q)
}

func TestSearchMatching(t *testing.T) {
	ix := directory.NewIndex(testOrgs())
	all := []string{"anchor", "cafe", "eclair", "mentoring", "twin-1", "twin-2", "womens", "zebra"}
	tests := []struct {
		name string
		raw  string
		want []string // in order
	}{
		{"no query: everything by name, case and accents ignored, ties by id", "", all},
		{"only punctuation is no query", "q=%21%3F+-+%E2%80%94", all},
		{"one word", "q=tenancies", []string{"anchor"}},
		{"case ignored", "q=TENANCIES", []string{"anchor"}},
		{"every word must match", "q=housing+prison", []string{"anchor", "mentoring"}},
		{"every word must match, in any field", "q=tenancies+prison", []string{"anchor"}},
		{"words in different fields", "q=anchor+tenancies", []string{"anchor"}},
		{"no match", "q=housing+zebra", nil},
		{"last word as prefix", "q=tenan", []string{"anchor"}},
		{"earlier words are not prefixes", "q=tenan+anchor", nil},
		{"trailing space ends the last word", "q=tenan+", nil},
		{"typo: deletion", "q=tenancis", []string{"anchor"}},
		{"typo: insertion", "q=tenanciess", []string{"anchor"}},
		{"typo: substitution", "q=tenancles", []string{"anchor"}},
		{"typo: transposition", "q=tneancies", []string{"anchor"}},
		{"typo in first letter", "q=xenancies", []string{"anchor"}},
		{"typo in last letter", "q=tenanciex+", []string{"anchor"}},
		{"two typos are too many", "q=tneancis", nil},
		{"no typo for words under five letters", "q=bokx+", nil},
		{"typo in a five-letter word", "q=boosk+", []string{"cafe"}},
		{"accents in text ignored", "q=cafe", []string{"cafe"}},
		{"accents in query ignored", "q=lit%C3%A9racy", []string{"cafe"}},
		{"accented capital", "q=ECLAIR", []string{"eclair"}},
		{"decomposed accents", "q=cafe%CC%81", []string{"cafe"}},
		{"apostrophe query matches joined form", "q=women%27s", []string{"womens"}},
		{"curly apostrophe", "q=women%E2%80%99s", []string{"womens"}},
		{"query without apostrophe", "q=womens", []string{"womens"}},
		{"stem of an apostrophe word", "q=women+", []string{"womens"}},
		{"vocabulary labels match", "q=accommodation", []string{"anchor"}},
		{"label words match", "q=arts+culture", []string{"cafe"}},
		{"hyphenated label", "q=faith-based", nil},
		{"label of a client group", "q=young+adults", []string{"mentoring"}},
		{"names first, then relevance: summary before description", "q=housing", []string{"anchor", "eclair", "mentoring"}},
		{"relevance, then name for ties", "q=prison", []string{"cafe", "anchor", "mentoring", "zebra"}},
		{"repeated word counts once", "q=housing+housing", []string{"anchor", "eclair", "mentoring"}},
		{"filter", "region=london", []string{"anchor", "eclair", "mentoring"}},
		{"OR within a parameter", "region=london&region=wales", []string{"anchor", "eclair", "mentoring", "twin-1", "twin-2"}},
		{"AND across parameters", "region=north-west&setting=community", []string{"mentoring", "womens"}},
		{"filters and text", "q=housing&region=london&setting=courts", []string{"eclair"}},
		{"lived experience", "lived_experience=true", []string{"anchor", "womens"}},
		{"lived experience and text", "q=housing&lived_experience=true", []string{"anchor"}},
		{"filter matching nothing", "region=south-west", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := search(t, ix, tt.raw)
			got := ids(res.Items)
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("Search(%q) = %v; want %v", tt.raw, got, tt.want)
			}
			if res.Total != len(tt.want) {
				t.Errorf("Search(%q).Total = %d; want %d", tt.raw, res.Total, len(tt.want))
			}
		})
	}
}

// TestSearchRanking checks the order of matches: names first, then by score (exact word,
// then prefix, then typo; summary above description), then name.
func TestSearchRanking(t *testing.T) {
	orgs := []directory.Organisation{
		{ID: "exact", Name: "One", Summary: "x", Description: "A shelter."},
		{ID: "prefix", Name: "Two", Summary: "x", Description: "Shelters."},
		{ID: "typo", Name: "Three", Summary: "x", Description: "A sheltar."},
		{ID: "summary", Name: "Four", Summary: "A shelter.", Description: "x"},
		{ID: "name-typo", Name: "Sheltar House", Summary: "x", Description: "x"},
		{ID: "everywhere", Name: "Five", Summary: "Shelter.", Description: "Shelter, shelter."},
		{ID: "all-in-name", Name: "Night Shelter", Summary: "x"},
		{ID: "half-in-name", Name: "Night Owls", Summary: "A shelter."},
	}
	ix := directory.NewIndex(orgs)
	tests := []struct {
		raw  string
		want []string
	}{
		{"q=shelter", []string{"all-in-name", "name-typo", "everywhere", "summary", "half-in-name", "exact", "prefix", "typo"}},
		{"q=shelter+", []string{"all-in-name", "name-typo", "everywhere", "summary", "half-in-name", "exact", "typo", "prefix"}},
		{"q=night+shelter", []string{"all-in-name", "half-in-name"}},
	}
	for _, tt := range tests {
		got := ids(search(t, ix, tt.raw).Items)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Search(%q) = %v; want %v", tt.raw, got, tt.want)
		}
	}
}

func TestSearchFacets(t *testing.T) {
	ix := directory.NewIndex(testOrgs())
	tests := []struct {
		name string
		raw  string
		want map[string]map[string]int // only the non-zero counts
	}{
		{"everything", "", map[string]map[string]int{
			"area": {"accommodation": 1, "arts-culture": 1, "education-training-employment": 1, "emotional-support": 1,
				"mentoring": 1, "family-support": 1, "advice-advocacy": 1},
			"client_group": {"women": 1, "young-adults": 1, "families": 1},
			"region":       {"london": 3, "north-west": 3, "national": 1, "wales": 2},
			"setting":      {"community": 3, "prison": 3, "courts": 1},
		}},
		{"a filter does not narrow its own facet", "region=london", map[string]map[string]int{
			"area":         {"accommodation": 1, "mentoring": 1, "advice-advocacy": 1},
			"client_group": {"young-adults": 1},
			"region":       {"london": 3, "north-west": 3, "national": 1, "wales": 2},
			"setting":      {"community": 2, "prison": 1, "courts": 1},
		}},
		{"each facet counts under every other filter", "region=north-west&setting=community", map[string]map[string]int{
			"area":         {"emotional-support": 1, "mentoring": 1},
			"client_group": {"women": 1, "young-adults": 1},
			"region":       {"london": 2, "north-west": 2}, // community organisations by region
			"setting":      {"community": 2, "prison": 2},  // north-west organisations by setting
		}},
		{"text and lived experience narrow every facet", "q=housing&lived_experience=true", map[string]map[string]int{
			"area":         {"accommodation": 1},
			"client_group": {},
			"region":       {"london": 1},
			"setting":      {"community": 1},
		}},
		{"no match", "q=nothing+matches+this", map[string]map[string]int{"area": {}, "client_group": {}, "region": {}, "setting": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := search(t, ix, tt.raw)
			if len(res.Facets) != 4 {
				t.Errorf("Search(%q) has facets %v; want 4", tt.raw, res.Facets)
			}
			for _, l := range directory.Lists() {
				got := res.Facets[l.Param]
				if len(got) != len(l.Terms) {
					t.Errorf("Search(%q) facet %s has %d slugs; want every one of %d", tt.raw, l.Param, len(got), len(l.Terms))
				}
				for _, term := range l.Terms {
					if got[term.Slug] != tt.want[l.Param][term.Slug] {
						t.Errorf("Search(%q) facet %s[%s] = %d; want %d", tt.raw, l.Param, term.Slug, got[term.Slug], tt.want[l.Param][term.Slug])
					}
				}
			}
		})
	}
}

func TestSearchPages(t *testing.T) {
	ix := directory.NewIndex(testOrgs())
	tests := []struct {
		raw   string
		want  []string
		total int
	}{
		{"per_page=3", []string{"anchor", "cafe", "eclair"}, 8},
		{"per_page=3&page=2", []string{"mentoring", "twin-1", "twin-2"}, 8},
		{"per_page=3&page=3", []string{"womens", "zebra"}, 8},
		{"per_page=3&page=4", nil, 8},
		{"per_page=1&page=10000", nil, 8},
		{"q=prison&per_page=2&page=1", []string{"cafe", "anchor"}, 4},
		{"q=prison&per_page=2&page=2", []string{"mentoring", "zebra"}, 4},
		{"q=prison&per_page=2&page=3", nil, 4},
		{"q=prison&per_page=1&page=4", []string{"zebra"}, 4},
		{"region=london&per_page=2&page=2", []string{"mentoring"}, 3},
	}
	for _, tt := range tests {
		res := search(t, ix, tt.raw)
		if got := ids(res.Items); !reflect.DeepEqual(got, append([]string{}, tt.want...)) || res.Total != tt.total {
			t.Errorf("Search(%q) = %v of %d; want %v of %d", tt.raw, got, res.Total, tt.want, tt.total)
		}
	}
	// A hand-built query with no page size gets the defaults.
	res := ix.Search(directory.Query{})
	if res.Page != 1 || res.PerPage != directory.DefaultPerPage || res.Total != 8 {
		t.Errorf("Search(Query{}) = page %d, per page %d, total %d; want 1, %d, 8", res.Page, res.PerPage, res.Total, directory.DefaultPerPage)
	}
}

// TestSearchPagesLarge checks that paging through a large result visits every match once, in
// the same order as one big page, with and without text.
func TestSearchPagesLarge(t *testing.T) {
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(seed.Synthetic(700)))
	if err != nil || len(problems) > 0 {
		t.Fatalf("ParseCSV(Synthetic(700)) = %v, %v", problems, err)
	}
	ix := directory.NewIndex(orgs)
	for _, q := range []string{"", "q=support", "q=prison+mentoring", "region=london"} {
		var whole []string
		for page := 1; ; page++ {
			res := search(t, ix, fmt.Sprintf("%s&per_page=100&page=%d", q, page))
			if len(res.Items) == 0 {
				break
			}
			whole = append(whole, ids(res.Items)...)
		}
		var paged []string
		for page := 1; ; page++ {
			res := search(t, ix, fmt.Sprintf("%s&per_page=7&page=%d", q, page))
			if len(res.Items) == 0 {
				if res.Total != len(whole) {
					t.Errorf("Search(%q).Total = %d; want %d", q, res.Total, len(whole))
				}
				break
			}
			paged = append(paged, ids(res.Items)...)
		}
		if len(whole) == 0 || !reflect.DeepEqual(paged, whole) {
			t.Errorf("Search(%q) in pages of 7 gives %d organisations, differently from pages of 100 (%d)", q, len(paged), len(whole))
		}
	}
}

func TestIndexGet(t *testing.T) {
	orgs := testOrgs()
	orgs = append(orgs, directory.Organisation{ID: "anchor", Name: "A second anchor"})
	ix := directory.NewIndex(orgs)
	if ix.Len() != len(orgs) {
		t.Errorf("Len() = %d; want %d", ix.Len(), len(orgs))
	}
	if o, ok := ix.Get("anchor"); !ok || o.Name != "Anchor Housing" {
		t.Errorf(`Get("anchor") = %q, %v; want the first "Anchor Housing"`, o.Name, ok)
	}
	if o, ok := ix.Get("cafe"); !ok || !reflect.DeepEqual(o, orgs[1]) {
		t.Errorf(`Get("cafe") = %+v, %v; want %+v`, o, ok, orgs[1])
	}
	for _, id := range []string{"", "Anchor", "nobody"} {
		if _, ok := ix.Get(id); ok {
			t.Errorf("Get(%q) found an organisation; want none", id)
		}
	}
}

func TestSearchEmptyIndex(t *testing.T) {
	ix := directory.NewIndex(nil)
	for _, raw := range []string{"", "q=housing", "region=london&lived_experience=true", "q=x&page=3"} {
		res := search(t, ix, raw)
		if res.Items == nil || len(res.Items) != 0 || res.Total != 0 || len(res.Facets) != 4 {
			t.Errorf("Search(%q) on an empty index = %+v; want no items and four facets", raw, res)
		}
	}
}

// TestJSON checks that empty lists encode as [] rather than null.
func TestJSON(t *testing.T) {
	b, err := json.Marshal(directory.Organisation{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"areas_of_work":[]`, `"client_groups":[]`, `"regions":[]`, `"settings":[]`, `"lived_experience":false`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("json.Marshal(Organisation) = %s; want it to contain %s", b, field)
		}
	}
	res := directory.NewIndex(nil).Search(directory.Query{})
	b, err = json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"items":[]`) || !strings.Contains(string(b), `"per_page":20`) {
		t.Errorf("json.Marshal(Result) = %s; want items [] and per_page 20", b)
	}
}

// TestSearchConcurrent runs searches from many goroutines at once (run it with -race); each
// must give the same answer as when run alone.
func TestSearchConcurrent(t *testing.T) {
	orgs, _, err := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
	if err != nil {
		t.Fatal(err)
	}
	ix := directory.NewIndex(orgs)
	queries := []string{"", "q=housing", "q=women%27s&region=north-west", "q=mentorin", "region=london&lived_experience=true", "q=acommodation&page=2&per_page=2"}
	want := make([]directory.Result, len(queries))
	for i, raw := range queries {
		want[i] = search(t, ix, raw)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				i := (g + n) % len(queries)
				if got := search(t, ix, queries[i]); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("Search(%q) under concurrency differs from when run alone", queries[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
