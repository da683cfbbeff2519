package directory_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
)

// stats parses a raw query string as the figures route does and returns ix's figures.
func stats(tb testing.TB, ix *directory.Index, raw string) directory.Stats {
	tb.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		tb.Fatal(err)
	}
	q, err := directory.ParseStatsQuery(v)
	if err != nil {
		tb.Fatalf("ParseStatsQuery(%q): %v", raw, err)
	}
	return ix.Stats(q)
}

// TestStatsJSON pins the response shape on a directory small enough to count by hand.
func TestStatsJSON(t *testing.T) {
	ix := directory.NewIndex([]directory.Organisation{
		{ID: "a", Name: "A", AreasOfWork: []string{"mentoring"}, Regions: []string{"london"}, LivedExperience: true, LivedExperienceBoard: true},
		{ID: "b", Name: "B", AreasOfWork: []string{"health"}, Regions: []string{"london", "wales"}, LivedExperience: true},
		{ID: "c", Name: "C", AreasOfWork: []string{"mentoring"}, Regions: []string{"wales"}},
	})
	zero := `{"organisations":0,"lived_experience":{"count":0,"percent":0},"lived_experience_board":{"count":0,"percent":0}}`
	var slugs []string // as JSON orders map keys
	for _, term := range directory.Regions.Terms {
		slugs = append(slugs, term.Slug)
	}
	slices.Sort(slugs)
	byRegion := func(london, wales string) string {
		var b strings.Builder
		for i, term := range slugs {
			if i > 0 {
				b.WriteByte(',')
			}
			fig := zero
			switch term {
			case "london":
				fig = london
			case "wales":
				fig = wales
			}
			fmt.Fprintf(&b, "%q:%s", term, fig)
		}
		return b.String()
	}
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"everything", "",
			`{"organisations":3,"lived_experience":{"count":2,"percent":66.7},"lived_experience_board":{"count":1,"percent":33.3},"by_region":{` +
				byRegion(`{"organisations":2,"lived_experience":{"count":2,"percent":100},"lived_experience_board":{"count":1,"percent":50}}`,
					`{"organisations":2,"lived_experience":{"count":1,"percent":50},"lived_experience_board":{"count":0,"percent":0}}`) + `}}`},
		{"region filter: by_region counts as if it were not set", "region=wales",
			`{"organisations":2,"lived_experience":{"count":1,"percent":50},"lived_experience_board":{"count":0,"percent":0},"by_region":{` +
				byRegion(`{"organisations":2,"lived_experience":{"count":2,"percent":100},"lived_experience_board":{"count":1,"percent":50}}`,
					`{"organisations":2,"lived_experience":{"count":1,"percent":50},"lived_experience_board":{"count":0,"percent":0}}`) + `}}`},
		{"area filter narrows by_region", "area=mentoring",
			`{"organisations":2,"lived_experience":{"count":1,"percent":50},"lived_experience_board":{"count":1,"percent":50},"by_region":{` +
				byRegion(`{"organisations":1,"lived_experience":{"count":1,"percent":100},"lived_experience_board":{"count":1,"percent":100}}`,
					`{"organisations":1,"lived_experience":{"count":0,"percent":0},"lived_experience_board":{"count":0,"percent":0}}`) + `}}`},
		{"nothing selected", "area=sport",
			`{"organisations":0,"lived_experience":{"count":0,"percent":0},"lived_experience_board":{"count":0,"percent":0},"by_region":{` +
				byRegion(zero, zero) + `}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(stats(t, ix, tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Stats(%q) =\n%s\nwant\n%s", tt.raw, got, tt.want)
			}
		})
	}
}

// TestStatsPercent checks the rounding to one decimal place, half up, and 0 of nothing.
func TestStatsPercent(t *testing.T) {
	tests := []struct {
		name      string
		n, lived  int
		wantPerc  float64
		wantCount int
	}{
		{"empty directory", 0, 0, 0, 0},
		{"none", 5, 0, 0, 0},
		{"all", 7, 7, 100, 7},
		{"a third", 3, 1, 33.3, 1},
		{"two thirds", 3, 2, 66.7, 2},
		{"exact tenth", 8, 1, 12.5, 1},
		{"half a tenth rounds up", 16, 1, 6.3, 1},
		{"just under half a tenth", 2001, 1, 0, 1},
		{"just over half a tenth", 1999, 1, 0.1, 1},
		{"past the first word of the bitset", 130, 65, 50, 65},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orgs := make([]directory.Organisation, tt.n)
			for i := range orgs {
				orgs[i] = directory.Organisation{ID: fmt.Sprintf("o%d", i), Name: fmt.Sprintf("O %05d", i), Regions: []string{"london"}, LivedExperience: i >= tt.n-tt.lived}
			}
			got := directory.NewIndex(orgs).Stats(directory.Query{}).LivedExperience
			if got.Count != tt.wantCount || got.Percent != tt.wantPerc {
				t.Errorf("Stats of %d organisations, %d with lived experience = %+v; want count %d, percent %v", tt.n, tt.lived, got, tt.wantCount, tt.wantPerc)
			}
		})
	}
}

func TestParseStatsQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want directory.Query
	}{
		{"empty", "", directory.Query{Filters: map[string][]string{}}},
		{"every filter", "q=peer+mentors&area=Mentoring&client_group=women,veterans&region=wales&setting=prison&lived_experience=yes",
			directory.Query{
				Text: "peer mentors",
				Filters: map[string][]string{
					"area": {"mentoring"}, "client_group": {"women", "veterans"}, "region": {"wales"}, "setting": {"prison"},
				},
				LivedExperience: directory.FlagYes,
			}},
		{"lived experience no", "lived_experience=n", directory.Query{Filters: map[string][]string{}, LivedExperience: directory.FlagNo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.raw)
			got, err := directory.ParseStatsQuery(v)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseStatsQuery(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestParseStatsQueryErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"page", "page=2", `unknown parameter "page": the figures have no pages`},
		{"empty page", "page=", `unknown parameter "page": the figures have no pages`},
		{"per_page", "region=wales&per_page=50", `unknown parameter "per_page": the figures have no pages`},
		{"unknown parameter", "regoin=wales", `unknown parameter "regoin"`},
		{"unknown region", "region=mars", `unknown region "mars"`},
		{"unknown area", "area=knitting", `unknown area of work "knitting"`},
		{"lived experience not a boolean", "lived_experience=maybe", "lived_experience must be true or false (or yes/no, y/n, 1/0)"},
		{"q too long", "q=" + strings.Repeat("a", 201), "q must be at most 200 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.raw)
			_, err := directory.ParseStatsQuery(v)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Message != tt.want {
				t.Errorf("ParseStatsQuery(%q) error = %v; want %s: %s", tt.raw, err, apperr.Invalid, tt.want)
			}
		})
	}
}

// TestStatsAgreeWithSearchAndCSV checks the figures, over every combination of a set of
// filters, against search (Total, the region facet, and Total with lived_experience=true) and
// against a count made directly from the parsed CSV (text matches aside, which come from search).
func TestStatsAgreeWithSearchAndCSV(t *testing.T) {
	var (
		texts   = []string{"", "housing", "support ", "mentor", "wmoen", "family advice", "nothing+matches+this"}
		areas   = []string{"", "mentoring", "mentoring,health,Sport and physical activity"}
		groups  = []string{"", "women", "veterans,lgbt"}
		regions = []string{"", "wales", "london,North East,national"}
		setting = []string{"", "prison", "courts,police-custody"}
		lived   = []string{"", "yes", "no"}
	)
	for _, dir := range []struct {
		name string
		csv  []byte
	}{
		{"seed directory", seed.DirectoryCSV},
		{"synthetic 701", seed.Synthetic(701)},
	} {
		t.Run(dir.name, func(t *testing.T) {
			orgs, problems, err := directory.ParseCSV(bytes.NewReader(dir.csv))
			if err != nil || len(problems) > 0 {
				t.Fatalf("ParseCSV: %v %v", problems, err)
			}
			ix := directory.NewIndex(orgs)
			for _, text := range texts {
				matched := textMatches(t, ix, text)
				for _, area := range areas {
					for _, group := range groups {
						for _, region := range regions {
							for _, set := range setting {
								for _, le := range lived {
									v := url.Values{}
									for k, s := range map[string]string{"q": text, "area": area, "client_group": group, "region": region, "setting": set, "lived_experience": le} {
										if s != "" {
											v.Set(k, s)
										}
									}
									raw := v.Encode()
									t.Run(raw, func(t *testing.T) {
										checkStats(t, ix, orgs, matched, raw, le == "")
									})
								}
							}
						}
					}
				}
			}
		})
	}
}

// checkStats compares the figures of raw with search and with directStats.
func checkStats(t *testing.T, ix *directory.Index, orgs []directory.Organisation, matched map[string]bool, raw string, livedUnset bool) {
	t.Helper()
	got := stats(t, ix, raw)
	res := search(t, ix, raw)
	if got.Organisations != res.Total {
		t.Errorf("Stats(%q).Organisations = %d; Search total %d", raw, got.Organisations, res.Total)
	}
	if livedUnset {
		if n := search(t, ix, raw+"&lived_experience=true").Total; got.LivedExperience.Count != n {
			t.Errorf("Stats(%q).LivedExperience.Count = %d; Search with lived_experience=true total %d", raw, got.LivedExperience.Count, n)
		}
	}
	for r, fig := range got.ByRegion {
		if fig.Organisations != res.Facets["region"][r] {
			t.Errorf("Stats(%q).ByRegion[%s].Organisations = %d; Search region facet %d", raw, r, fig.Organisations, res.Facets["region"][r])
		}
	}
	v, _ := url.ParseQuery(raw)
	q, _ := directory.ParseStatsQuery(v)
	if want := directStats(orgs, matched, q); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats(%q) = %+v; counted from the CSV %+v", raw, got, want)
	}
}

// textMatches returns the ids of the organisations search finds for text (every page), or nil
// for no text.
func textMatches(tb testing.TB, ix *directory.Index, text string) map[string]bool {
	tb.Helper()
	if text == "" {
		return nil
	}
	ids := map[string]bool{}
	for page := 1; ; page++ {
		res := search(tb, ix, url.Values{"q": {text}, "per_page": {"100"}, "page": {fmt.Sprint(page)}}.Encode())
		for _, o := range res.Items {
			ids[o.ID] = true
		}
		if len(res.Items) < 100 {
			return ids
		}
	}
}

// directStats counts the figures of q organisation by organisation, from their fields; text
// (nil for none) holds the ids the text matches.
func directStats(orgs []directory.Organisation, text map[string]bool, q directory.Query) directory.Stats {
	selected := func(o directory.Organisation, skip string) bool {
		if text != nil && !text[o.ID] {
			return false
		}
		if q.LivedExperience == directory.FlagYes && !o.LivedExperience || q.LivedExperience == directory.FlagNo && o.LivedExperience {
			return false
		}
		for _, l := range directory.Lists() {
			want := q.Filters[l.Param]
			if l.Param != skip && len(want) > 0 && !slices.ContainsFunc(terms(o, l), func(s string) bool { return slices.Contains(want, s) }) {
				return false
			}
		}
		return true
	}
	share := func(count, n int) directory.Share {
		if n == 0 {
			return directory.Share{Count: count}
		}
		return directory.Share{Count: count, Percent: float64((count*2000+n)/(2*n)) / 10} // tenths, half up
	}
	figures := func(in func(directory.Organisation) bool) directory.Figures {
		var n, lived, board int
		for _, o := range orgs {
			if in(o) {
				n++
				lived += btoi(o.LivedExperience)
				board += btoi(o.LivedExperienceBoard)
			}
		}
		return directory.Figures{Organisations: n, LivedExperience: share(lived, n), LivedExperienceBoard: share(board, n)}
	}
	st := directory.Stats{
		Figures:  figures(func(o directory.Organisation) bool { return selected(o, "") }),
		ByRegion: map[string]directory.Figures{},
	}
	for _, r := range directory.Regions.Terms {
		st.ByRegion[r.Slug] = figures(func(o directory.Organisation) bool {
			return selected(o, "region") && slices.Contains(o.Regions, r.Slug)
		})
	}
	return st
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStatsEmptyIndex: an empty directory has zeros, and still every region.
func TestStatsEmptyIndex(t *testing.T) {
	got := directory.NewIndex(nil).Stats(directory.Query{})
	if got.Organisations != 0 || got.LivedExperience != (directory.Share{}) || got.LivedExperienceBoard != (directory.Share{}) {
		t.Errorf("Stats of an empty index = %+v; want zeros", got.Figures)
	}
	if len(got.ByRegion) != len(directory.Regions.Terms) {
		t.Errorf("Stats of an empty index has %d regions; want every one of %d", len(got.ByRegion), len(directory.Regions.Terms))
	}
	for r, fig := range got.ByRegion {
		if fig != (directory.Figures{}) {
			t.Errorf("Stats of an empty index by region %s = %+v; want zeros", r, fig)
		}
	}
}

func FuzzParseStatsQuery(f *testing.F) {
	for _, s := range []string{
		"", "region=wales&area=mentoring", "q=peer+mentors&lived_experience=yes", "page=1", "per_page=", "regoin=wales", "region=mars",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		q, err := directory.ParseStatsQuery(v)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Message == "" {
				t.Fatalf("ParseStatsQuery(%q) error = %#v; want an *apperr.Error with code %s", raw, err, apperr.Invalid)
			}
			return
		}
		if v.Has("page") || v.Has("per_page") {
			t.Fatalf("ParseStatsQuery(%q) accepted a page", raw)
		}
		sq, err := directory.ParseQuery(v)
		if err != nil || sq.Text != q.Text || sq.LivedExperience != q.LivedExperience || !reflect.DeepEqual(sq.Filters, q.Filters) {
			t.Fatalf("ParseStatsQuery(%q) = %+v; ParseQuery = %+v, %v", raw, q, sq, err)
		}
	})
}
