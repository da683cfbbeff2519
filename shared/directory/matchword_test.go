package directory_test

import (
	"strings"
	"testing"

	"sectorhub/shared/directory"
)

func TestWords(t *testing.T) {
	var got []string
	directory.Words("Women's Café, RE-ENTRY", func(w, stem string) { got = append(got, w+"/"+stem) })
	if want := "womens/women cafe/ re/ entry/"; strings.Join(got, " ") != want {
		t.Errorf("Words = %q; want %q", strings.Join(got, " "), want)
	}
}

func TestMatchWord(t *testing.T) {
	for _, tc := range []struct {
		w, t   string
		prefix bool
		want   int
	}{
		{"housing", "housing", false, directory.ExactMatch},
		{"hous", "housing", true, directory.PrefixMatch},
		{"hous", "housing", false, directory.NoMatch},
		{"housign", "housing", false, directory.TypoMatch}, // transposition
		{"mentorin", "mentoring", false, directory.TypoMatch},
		{"ment", "mint", false, directory.NoMatch}, // too short for a typo
		{"housing", "hosting", false, directory.NoMatch},
	} {
		if got := directory.MatchWord(tc.w, tc.t, tc.prefix); got != tc.want {
			t.Errorf("MatchWord(%q, %q, %v) = %d; want %d", tc.w, tc.t, tc.prefix, got, tc.want)
		}
	}
}

// MatchWord is the rule Search applies: a word it matches, Search finds.
func TestMatchWordAgreesWithSearch(t *testing.T) {
	ix := directory.NewIndex([]directory.Organisation{{ID: "a", Name: "Housing Mentoring", Regions: []string{"london"}}})
	for _, q := range []string{"housign ", "hous", "mentorin "} {
		if res := ix.Search(directory.Query{Text: q}); res.Total != 1 {
			t.Errorf("Search(%q) = %d results; want 1, as MatchWord matches it", q, res.Total)
		}
	}
}
