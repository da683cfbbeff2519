package casestudy_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"sectorhub/shared/apperr"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/directory"
)

func TestThemes(t *testing.T) {
	if len(casestudy.Themes) != len(directory.Areas.Terms)+6 || len(casestudy.Themes) > 63 {
		t.Fatalf("Themes has %d terms; want the %d areas of work and 6 involvement themes (at most 63: the index keeps them in a mask)", len(casestudy.Themes), len(directory.Areas.Terms))
	}
	for _, term := range casestudy.Themes {
		for _, s := range []string{term.Slug, term.Label, strings.ToUpper(term.Label), " " + term.Label + " "} {
			if got, ok := casestudy.LookupTheme(s); !ok || got != term.Slug {
				t.Errorf("LookupTheme(%q) = %q, %v; want %q", s, got, ok, term.Slug)
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"Trustees & governance", "trustees-and-governance"},
		{"co production", "co-production"},
		{"Lived   Experience-Leadership", "lived-experience-leadership"},
		{"Attitudes, thinking and behaviour", "attitudes-thinking-behaviour"},
		{"Faith-based support", "faith"},
	} {
		if got, ok := casestudy.LookupTheme(tc.in); !ok || got != tc.want {
			t.Errorf("LookupTheme(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "peer", "peer-supports", "north-west", "co-production-x"} {
		if got, ok := casestudy.LookupTheme(bad); ok {
			t.Errorf("LookupTheme(%q) = %q; want no theme", bad, got)
		}
	}
	if got := casestudy.SortThemes([]string{"peer-support", "accommodation", "peer-support"}); fmt.Sprint(got) != "[accommodation peer-support]" {
		t.Errorf("SortThemes = %v; want vocabulary order without repeats", got)
	}
}

func TestValidSlug(t *testing.T) {
	for s, want := range map[string]bool{
		"abc": true, "peer-mentors-2026": true, strings.Repeat("a", 80): true,
		"ab": false, strings.Repeat("a", 81): false, "Peer": false, "a_b": false, "a b": false, "café": false, "a.md": false,
	} {
		if got := casestudy.ValidSlug(s); got != want {
			t.Errorf("ValidSlug(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want casestudy.Query
	}{
		{"", casestudy.Query{Page: 1, PerPage: 20}},
		{"q=peer+mentors&page=2&per_page=5", casestudy.Query{Text: "peer mentors", Page: 2, PerPage: 5}},
		{"theme=Peer+support&theme=accommodation,mentoring", casestudy.Query{Themes: []string{"accommodation", "mentoring", "peer-support"}, Page: 1, PerPage: 20}},
		{"theme=Attitudes,+thinking+and+behaviour", casestudy.Query{Themes: []string{"attitudes-thinking-behaviour"}, Page: 1, PerPage: 20}},
		{"region=wales,North+West&organisation=a-1,b_2&organisation=a-1", casestudy.Query{Regions: []string{"north-west", "wales"}, Organisations: []string{"a-1", "b_2"}, Page: 1, PerPage: 20}},
		{"q=&theme=&page=&per_page=", casestudy.Query{Page: 1, PerPage: 20}},
	} {
		v, _ := url.ParseQuery(tc.raw)
		got, err := casestudy.ParseQuery(v)
		if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
			t.Errorf("ParseQuery(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
	for raw, msg := range map[string]string{
		"area=housing":                  `unknown parameter "area"`,
		"theme=knitting":                `unknown theme "knitting"`,
		"region=mars":                   `unknown region "mars"`,
		"organisation=a%20b":            `organisation "a b" is not a directory id`,
		"per_page=0":                    "per_page must be between 1 and 100",
		"per_page=101":                  "per_page must be between 1 and 100",
		"page=x":                        "page must be a whole number",
		"q=a&q=b":                       "q must be given only once",
		"q=" + strings.Repeat("a", 201): "q must be at most 200 characters",
		"q=%ff":                         "not valid UTF-8",
	} {
		v, _ := url.ParseQuery(raw)
		_, err := casestudy.ParseQuery(v)
		if apperr.Code(err) != apperr.Invalid || !strings.Contains(apperr.Message(err), msg) {
			t.Errorf("ParseQuery(%q) = %v; want invalid_parameter with %q", raw, err, msg)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "q=peer&theme=mentoring,Peer+support&region=wales", "organisation=x&page=2&per_page=100", "theme=%ff", "q=a&q=b", "x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := casestudy.ParseQuery(v)
		if err != nil {
			if apperr.Code(err) != apperr.Invalid || apperr.Message(err) == "" {
				t.Fatalf("ParseQuery(%q) = %v; want an invalid_parameter error with a message", raw, err)
			}
			return
		}
		if q.Page < 1 || q.PerPage < 1 || q.PerPage > casestudy.MaxPerPage {
			t.Fatalf("ParseQuery(%q) = %+v: page out of range", raw, q)
		}
		for _, s := range q.Themes {
			if casestudy.ThemeLabel(s) == "" {
				t.Fatalf("ParseQuery(%q): theme %q not in the vocabulary", raw, s)
			}
		}
	})
}

// entries are a small set of case studies for the index tests.
func entries() []casestudy.Entry {
	org := &casestudy.Organisation{ID: "quill", Name: "Quill"}
	return []casestudy.Entry{
		{Summary: casestudy.Summary{Slug: "peer-mentors", Title: "Peer mentors on the wing", Summary: "Mentoring in prison", Published: "2026-10-14", Themes: []string{"mentoring", "peer-support"}, Regions: []string{"north-west"}, Organisation: org}, Text: "Women's mentors meet people at the gate."},
		{Summary: casestudy.Summary{Slug: "council", Title: "A service user council", Summary: "Voices heard", Published: "2026-10-14", Themes: []string{"service-user-councils"}, Regions: []string{"wales"}}, Text: "The café hosts the council each month."},
		{Summary: casestudy.Summary{Slug: "board", Title: "Trustees with lived experience", Summary: "Governance", Published: "2025-03-01", Themes: []string{"trustees-and-governance", "lived-experience-leadership"}}, Text: "Recruiting trustees."},
		{Summary: casestudy.Summary{Slug: "housing", Title: "Housing first", Summary: "Accommodation on release", Published: "2026-11-01", Themes: []string{"accommodation"}, Regions: []string{"north-west", "wales"}, Organisation: org}, Text: "Tenancy sustainment and mentoring."},
	}
}

func slugs(r casestudy.Result) string {
	var s []string
	for _, it := range r.Items {
		s = append(s, it.Slug)
	}
	return strings.Join(s, " ")
}

func TestSearch(t *testing.T) {
	ix := casestudy.NewIndex(entries())
	for _, tc := range []struct {
		name string
		q    casestudy.Query
		want string
	}{
		{"newest first, then title A–Z", casestudy.Query{}, "housing council peer-mentors board"},
		{"theme", casestudy.Query{Themes: []string{"mentoring"}}, "peer-mentors"},
		{"themes OR", casestudy.Query{Themes: []string{"mentoring", "accommodation"}}, "housing peer-mentors"},
		{"region AND theme", casestudy.Query{Themes: []string{"accommodation", "service-user-councils"}, Regions: []string{"wales"}}, "housing council"},
		{"organisation", casestudy.Query{Organisations: []string{"quill"}}, "housing peer-mentors"},
		{"unknown organisation", casestudy.Query{Organisations: []string{"nobody"}}, ""},
		{"text in the body", casestudy.Query{Text: "tenancy"}, "housing"},
		{"every word must match", casestudy.Query{Text: "mentoring tenancy"}, "housing"},
		{"last word as prefix", casestudy.Query{Text: "tenan"}, "housing"},
		{"not a prefix once finished", casestudy.Query{Text: "tenan "}, ""},
		{"one typo", casestudy.Query{Text: "trustes "}, "board"},
		{"accents and case", casestudy.Query{Text: "CAFE "}, "council"},
		{"apostrophe stem", casestudy.Query{Text: "women "}, "peer-mentors"},
		{"text and theme", casestudy.Query{Text: "mentoring", Themes: []string{"mentoring"}}, "peer-mentors"},
		{"page 2", casestudy.Query{Page: 2, PerPage: 3}, "board"},
		{"no words is every case study", casestudy.Query{Text: "!!"}, "housing council peer-mentors board"},
	} {
		if got := slugs(ix.Search(tc.q)); got != tc.want {
			t.Errorf("%s: Search(%+v) = [%s]; want [%s]", tc.name, tc.q, got, tc.want)
		}
	}
}

func TestSearchFacetsAndTotals(t *testing.T) {
	ix := casestudy.NewIndex(entries())
	res := ix.Search(casestudy.Query{Regions: []string{"wales"}, PerPage: 1})
	if res.Total != 2 || len(res.Items) != 1 || res.Page != 1 || res.PerPage != 1 {
		t.Fatalf("region=wales per_page=1: total %d, %d items, page %d/%d; want 2, 1, 1/1", res.Total, len(res.Items), res.Page, res.PerPage)
	}
	// The region facet counts as if no region were selected; the theme facet under region=wales.
	if f := res.Facets["region"]; f["north-west"] != 2 || f["wales"] != 2 || f["london"] != 0 || len(f) != len(directory.Regions.Terms) {
		t.Errorf("region facet = %v; want north-west 2, wales 2, every region present", f)
	}
	if f := res.Facets["theme"]; f["accommodation"] != 1 || f["service-user-councils"] != 1 || f["mentoring"] != 0 || len(f) != len(casestudy.Themes) {
		t.Errorf("theme facet = %v; want accommodation 1, service-user-councils 1, mentoring 0", f)
	}
	for _, it := range ix.Search(casestudy.Query{}).Items {
		if it.Themes == nil || it.Regions == nil {
			t.Errorf("%s: nil lists; want [] (they encode as null otherwise)", it.Slug)
		}
	}
}

// FuzzSearch compares the index with a brute-force search over the same case studies.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"mentoring", "tenan", "trustes ", "café", "women's", "x y z", ""} {
		f.Add(s, uint8(0))
	}
	all := entries()
	ix := casestudy.NewIndex(all)
	f.Fuzz(func(t *testing.T, text string, themeBits uint8) {
		var themes []string
		for i := range 8 {
			if themeBits&(1<<i) != 0 {
				themes = append(themes, casestudy.Themes[i*3%len(casestudy.Themes)].Slug)
			}
		}
		got := ix.Search(casestudy.Query{Text: text, Themes: casestudy.SortThemes(themes), PerPage: 100})
		var want []string
		for _, e := range ix.Search(casestudy.Query{PerPage: 100}).Items {
			full := all[slices.IndexFunc(all, func(x casestudy.Entry) bool { return x.Slug == e.Slug })]
			if len(themes) > 0 && !slices.ContainsFunc(e.Themes, func(s string) bool { return slices.Contains(themes, s) }) {
				continue
			}
			if bruteMatch(text, full.Title+" "+full.Summary.Summary+" "+full.Text) {
				want = append(want, e.Slug)
			}
		}
		if g := slugs(got); g != strings.Join(want, " ") {
			t.Fatalf("Search(%q, themes %v) = [%s]; brute force finds [%s]", text, themes, g, strings.Join(want, " "))
		}
	})
}

// bruteMatch matches query text against a text word by word with directory.MatchWord.
func bruteMatch(query, text string) bool {
	type qw struct{ w, stem string }
	var qs []qw
	directory.Words(query, func(w, stem string) {
		if len(qs) < 32 && !slices.ContainsFunc(qs, func(x qw) bool { return x.w == w }) {
			qs = append(qs, qw{w, stem})
		}
	})
	var words []string
	directory.Words(text, func(w, stem string) {
		words = append(words, w)
		if stem != "" {
			words = append(words, stem)
		}
	})
	trimmed := strings.TrimRightFunc(query, func(r rune) bool {
		return strings.ContainsRune(" \t\n\r\v\f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000", r)
	})
	prefix := len(trimmed) == len(query)
	for i, q := range qs {
		found := false
		for _, w := range words {
			for _, alt := range []string{q.w, q.stem} {
				if alt != "" && directory.MatchWord(alt, w, prefix && i == len(qs)-1) != directory.NoMatch {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}
