package casestudy

import (
	"slices"
	"strings"

	"sectorhub/shared/directory"
)

// involvement are the themes of involving people with lived experience of the criminal justice
// system, which case studies have besides the directory's areas of work. Each slug is its
// label's words joined by hyphens (themeKey relies on it; a test checks it).
var involvement = []directory.Term{
	{Slug: "co-production", Label: "Co-production"},
	{Slug: "peer-support", Label: "Peer support"},
	{Slug: "lived-experience-leadership", Label: "Lived experience leadership"},
	{Slug: "service-user-councils", Label: "Service user councils"},
	{Slug: "peer-research", Label: "Peer research"},
	{Slug: "trustees-and-governance", Label: "Trustees and governance"},
}

// Themes is the themes vocabulary, in display order (the order slugs are stored in): every
// directory area of work (directory.Areas, the one place those are defined), then the
// involvement themes. This is the one place it is defined.
var Themes = append(slices.Clip(directory.Areas.Terms), involvement...)

// Regions is the regions vocabulary: the directory's.
var Regions = directory.Regions

// LookupTheme returns the slug of the theme s names: a slug or a label, in any case and
// spacing, without accents, "&" for "and", as the directory's vocabularies take them.
func LookupTheme(s string) (slug string, ok bool) {
	if slug, ok := directory.Areas.Lookup(s); ok {
		return slug, true
	}
	k := themeKey(s)
	for _, t := range involvement {
		if t.Slug == k {
			return t.Slug, true
		}
	}
	return "", false
}

// LookupRegion returns the slug of the directory region s names (slug or label).
func LookupRegion(s string) (string, bool) { return Regions.Lookup(s) }

// themeKey folds s to its words joined by hyphens ("Lived  Experience-leadership" →
// "lived-experience-leadership").
func themeKey(s string) string {
	var b strings.Builder
	directory.Words(strings.ReplaceAll(s, "&", " and "), func(w, _ string) {
		if b.Len() > 0 {
			b.WriteByte('-')
		}
		b.WriteString(w)
	})
	return b.String()
}

// themeIndex returns the position of slug in Themes, or -1.
func themeIndex(slug string) int {
	for i, t := range Themes {
		if t.Slug == slug {
			return i
		}
	}
	return -1
}

// regionIndex returns the position of slug in Regions.Terms, or -1.
func regionIndex(slug string) int {
	for i, t := range Regions.Terms {
		if t.Slug == slug {
			return i
		}
	}
	return -1
}

// ThemeLabel returns the label of a theme slug, or "".
func ThemeLabel(slug string) string {
	if i := themeIndex(slug); i >= 0 {
		return Themes[i].Label
	}
	return ""
}

// SortThemes sorts theme slugs into vocabulary order and drops repeats.
func SortThemes(slugs []string) []string { return inOrder(slugs, themeIndex) }

// SortRegions sorts region slugs into vocabulary order and drops repeats.
func SortRegions(slugs []string) []string { return inOrder(slugs, regionIndex) }

func inOrder(slugs []string, index func(string) int) []string {
	out := slices.Clone(slugs)
	slices.SortFunc(out, func(a, b string) int { return index(a) - index(b) })
	return slices.Compact(out)
}
