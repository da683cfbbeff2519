package directory_test

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want directory.Query
	}{
		{"empty", "", directory.Query{Filters: map[string][]string{}, Page: 1, PerPage: 20}},
		{
			"everything",
			"q=women%27s+centre&area=mental-health&client_group=women&region=north-west&setting=community&lived_experience=true&page=3&per_page=50",
			directory.Query{
				Text: "women's centre",
				Filters: map[string][]string{
					"area": {"mental-health"}, "client_group": {"women"}, "region": {"north-west"}, "setting": {"community"},
				},
				LivedExperience: directory.FlagYes, Page: 3, PerPage: 50,
			},
		},
		{
			"repeated and comma-separated terms, in vocabulary order without repeats",
			"region=wales&region=london,north-east&region=London",
			directory.Query{Filters: map[string][]string{"region": {"north-east", "london", "wales"}}, Page: 1, PerPage: 20},
		},
		{
			"labels, and a label with a comma",
			"region=North+West&area=Attitudes%2C+thinking+and+behaviour&client_group=Young+adults+(18%E2%80%9325)",
			directory.Query{Filters: map[string][]string{
				"region": {"north-west"}, "area": {"attitudes-thinking-behaviour"}, "client_group": {"young-adults"},
			}, Page: 1, PerPage: 20},
		},
		{
			"empty values count as not given",
			"q=&region=&area=,&lived_experience=&page=&per_page=",
			directory.Query{Filters: map[string][]string{}, Page: 1, PerPage: 20},
		},
		{"lived experience false", "lived_experience=false", directory.Query{Filters: map[string][]string{}, LivedExperience: directory.FlagNo, Page: 1, PerPage: 20}},
		{"q is kept as given", "q=+housing+", directory.Query{Text: " housing ", Filters: map[string][]string{}, Page: 1, PerPage: 20}},
		{"q of 200 characters", "q=" + strings.Repeat("é", 200), directory.Query{Text: strings.Repeat("é", 200), Filters: map[string][]string{}, Page: 1, PerPage: 20}},
		{"limits", "page=10000&per_page=100", directory.Query{Filters: map[string][]string{}, Page: 10000, PerPage: 100}},
		{"per_page of one", "per_page=1", directory.Query{Filters: map[string][]string{}, Page: 1, PerPage: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := directory.ParseQuery(v)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseQuery(%q) = %+v; want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

// TestParseQueryLivedExperience checks that the query takes every spelling the CSV takes for a
// yes/no column, and that a no means no rather than no condition.
func TestParseQueryLivedExperience(t *testing.T) {
	tests := []struct {
		value string
		want  directory.FlagFilter
	}{
		{"true", directory.FlagYes}, {"TRUE", directory.FlagYes}, {"yes", directory.FlagYes}, {"Yes", directory.FlagYes},
		{"y", directory.FlagYes}, {"1", directory.FlagYes}, {" true ", directory.FlagYes},
		{"false", directory.FlagNo}, {"False", directory.FlagNo}, {"no", directory.FlagNo}, {"NO", directory.FlagNo},
		{"n", directory.FlagNo}, {"0", directory.FlagNo},
		{"", directory.FlagAny}, {" ", directory.FlagAny},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			v := url.Values{"lived_experience": {tt.value}}
			q, err := directory.ParseQuery(v)
			if err != nil {
				t.Fatalf("ParseQuery(%v): %v", v, err)
			}
			if q.LivedExperience != tt.want {
				t.Errorf("ParseQuery(%v).LivedExperience = %v; want %v", v, q.LivedExperience, tt.want)
			}
			// The CSV reads the same spelling the same way.
			if tt.want == directory.FlagAny {
				return
			}
			orgs, problems := parseCSV(t, "id,name,summary,regions,lived_experience\na,A,S,london,"+tt.value+"\n")
			if len(problems) > 0 || len(orgs) != 1 || orgs[0].LivedExperience != (tt.want == directory.FlagYes) {
				t.Errorf("ParseCSV(lived_experience %q) = %+v, problems %v; want lived experience %t", tt.value, orgs, problems, tt.want == directory.FlagYes)
			}
		})
	}
}

func TestSearchLivedExperience(t *testing.T) {
	orgs, problems := parseCSV(t, "id,name,summary,regions,lived_experience\n"+
		"with-1,Anchor Housing,Homes,london,yes\nwithout-1,Bridge Housing,Homes,london,no\n"+
		"with-2,Compass,Advice,wales,yes\nwithout-2,Dove,Advice,wales,\n")
	if len(problems) > 0 {
		t.Fatalf("ParseCSV problems = %v; want none", problems)
	}
	ix := directory.NewIndex(orgs)
	tests := []struct {
		name, raw string
		want      []string
	}{
		{"no condition", "lived_experience=", []string{"with-1", "without-1", "with-2", "without-2"}},
		{"true", "lived_experience=true", []string{"with-1", "with-2"}},
		{"yes", "lived_experience=yes", []string{"with-1", "with-2"}},
		{"false", "lived_experience=false", []string{"without-1", "without-2"}},
		{"0", "lived_experience=0", []string{"without-1", "without-2"}},
		{"false with text", "q=housing&lived_experience=false", []string{"without-1"}},
		{"false with a filter", "region=wales&lived_experience=no", []string{"without-2"}},
		{"false with text matching only others", "q=anchor&lived_experience=false", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := search(t, ix, tt.raw)
			if got := ids(res.Items); !slices.Equal(got, tt.want) || res.Total != len(tt.want) {
				t.Errorf("Search(%q) = %v (total %d); want %v", tt.raw, got, res.Total, tt.want)
			}
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name string
		v    url.Values
		want string
	}{
		{"unknown parameter", url.Values{"regoin": {"london"}}, `unknown parameter "regoin"`},
		{"unknown region", url.Values{"region": {"mars"}}, `unknown region "mars"`},
		{"unknown term among known ones", url.Values{"region": {"london, mars"}}, `unknown region "mars"`},
		{"unknown area", url.Values{"area": {"knitting"}}, `unknown area of work "knitting"`},
		{"unknown client group", url.Values{"client_group": {"aliens"}}, `unknown client group "aliens"`},
		{"unknown setting", url.Values{"setting": {"jail"}}, `unknown setting "jail"`},
		{"lived experience not a boolean", url.Values{"lived_experience": {"maybe"}}, "lived_experience must be true or false (or yes/no, y/n, 1/0)"},
		{"lived experience of two words", url.Values{"lived_experience": {"yes no"}}, "lived_experience must be true or false (or yes/no, y/n, 1/0)"},
		{"page zero", url.Values{"page": {"0"}}, "page must be a whole number between 1 and 10000"},
		{"page negative", url.Values{"page": {"-1"}}, "page must be a whole number between 1 and 10000"},
		{"page not a number", url.Values{"page": {"two"}}, "page must be a whole number between 1 and 10000"},
		{"page fraction", url.Values{"page": {"1.5"}}, "page must be a whole number between 1 and 10000"},
		{"page too deep", url.Values{"page": {"10001"}}, "page must be a whole number between 1 and 10000"},
		{"page overflow", url.Values{"page": {"99999999999999999999"}}, "page must be a whole number between 1 and 10000"},
		{"per_page zero", url.Values{"per_page": {"0"}}, "per_page must be between 1 and 100"},
		{"per_page too large", url.Values{"per_page": {"101"}}, "per_page must be between 1 and 100"},
		{"per_page not a number", url.Values{"per_page": {"all"}}, "per_page must be between 1 and 100"},
		{"q too long", url.Values{"q": {strings.Repeat("a", 201)}}, "q must be at most 200 characters"},
		{"repeated q", url.Values{"q": {"a", "b"}}, "q must be given only once"},
		{"repeated page", url.Values{"page": {"1", "2"}}, "page must be given only once"},
		{"repeated per_page", url.Values{"per_page": {"1", "2"}}, "per_page must be given only once"},
		{"repeated lived_experience", url.Values{"lived_experience": {"true", "true"}}, "lived_experience must be given only once"},
		{"invalid UTF-8 value", url.Values{"q": {"caf\xe9"}}, "the query string is not valid UTF-8 text"},
		{"invalid UTF-8 name", url.Values{"q\xff": {"x"}}, "the query string is not valid UTF-8 text"},
		{"long unknown parameter is shortened", url.Values{strings.Repeat("x", 500): {"1"}}, `unknown parameter "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…"`},
		{"first error in parameter order", url.Values{"zzz": {"1"}, "page": {"0"}}, "page must be a whole number between 1 and 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := directory.ParseQuery(tt.v)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Message != tt.want {
				t.Errorf("ParseQuery(%v) error = %v; want %s: %s", tt.v, err, apperr.Invalid, tt.want)
			}
		})
	}
}
